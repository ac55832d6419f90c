"""Motion: latents from video (track), and later from audio, idle life and user controls."""
