"""HeadSplat Studio: the PySide6 desktop app. Widgets only; everything that computes lives in engine."""
