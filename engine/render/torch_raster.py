"""A differentiable tiled Gaussian rasterizer in pure PyTorch (CPU or any device).

Pipeline: EWA projection (projection.py) -> bin splats into 16×16 tiles, each tile's list sorted
front to back -> composite the tiles in depth chunks, carrying each pixel's transmittance from chunk
to chunk, and retire a tile once every pixel in it is saturated (early termination) or its list is
exhausted. Gradients flow to means, quats, scales, opacities and colours through plain autograd.
"""
from __future__ import annotations

import math

import torch

from engine.config import RenderConfig
from engine.render.base import RenderOutput, Renderer
from engine.render.projection import Projected, project
from engine.types import Camera, GaussianFrame


def bin_tiles(proj: Projected, tiles_x: int, tiles_y: int, tile: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tile splat lists, each sorted by depth (front first).

    Returns table [n_tiles, K] of Gaussian indices padded with -1, and counts [n_tiles]."""
    dev = proj.means2d.device
    n_tiles = tiles_x * tiles_y
    ids = torch.nonzero(proj.visible).squeeze(1)
    if ids.numel() == 0:
        return torch.full((n_tiles, 0), -1, dtype=torch.long, device=dev), torch.zeros(n_tiles, dtype=torch.long, device=dev)
    ids = ids[torch.argsort(proj.depths.detach()[ids])]  # front to back
    m = proj.means2d.detach()[ids]
    r = proj.radii[ids].to(m.dtype)  # [n, 2]
    x0 = ((m[:, 0] - r[:, 0]) / tile).floor().clamp(0, tiles_x).long()
    x1 = ((m[:, 0] + r[:, 0]) / tile).ceil().clamp(0, tiles_x).long()
    y0 = ((m[:, 1] - r[:, 1]) / tile).floor().clamp(0, tiles_y).long()
    y1 = ((m[:, 1] + r[:, 1]) / tile).ceil().clamp(0, tiles_y).long()
    w, h = x1 - x0, y1 - y0
    n_hit = w * h  # tiles touched by each splat
    keep = n_hit > 0
    ids, x0, y0, w, n_hit = ids[keep], x0[keep], y0[keep], w[keep], n_hit[keep]
    # One (tile, splat) pair per touched tile; pairs stay in depth order within a splat's run.
    owner = torch.repeat_interleave(torch.arange(ids.numel(), device=dev), n_hit)
    start = torch.cumsum(n_hit, 0) - n_hit
    local = torch.arange(owner.numel(), device=dev) - start[owner]
    tile_id = (y0[owner] + local // w[owner]) * tiles_x + x0[owner] + local % w[owner]
    order = torch.argsort(tile_id, stable=True)  # stable keeps depth order inside each tile
    tile_id, gauss = tile_id[order], ids[owner[order]]
    counts = torch.bincount(tile_id, minlength=n_tiles)
    first = torch.cumsum(counts, 0) - counts
    slot = torch.arange(tile_id.numel(), device=dev) - first[tile_id]
    table = torch.full((n_tiles, int(counts.max())), -1, dtype=torch.long, device=dev)
    table[tile_id, slot] = gauss
    return table, counts


class _CompositeChunk(torch.autograd.Function):
    """Front-to-back compositing of one depth chunk of C splats over A tiles of tp pixels, with a
    hand-written backward (about half the element-wise passes autograd would record).

    Inputs: pix_feats [tp, 6] quadratic pixel features; coef [A, 6, C] per-(tile, splat) exponent
    coefficients; feats [A, C, 4] rgb + depth; log_t [A, tp] log transmittance entering the chunk;
    done [A, tp] pixels that already stopped; excl [C, C] strictly upper-triangular ones.
    Outputs: contrib [A, tp, 4] = Σ w·feats, log_t_end [A, tp], done_end [A, tp] (no gradient).
    """

    @staticmethod
    def forward(ctx, pix_feats, coef, feats, log_t, done, excl, alpha_min, alpha_max, log_tmin):
        a0 = torch.exp(torch.matmul(pix_feats, coef))  # [A, tp, C] o·exp(power)
        unclamped = a0 < alpha_max
        alpha = torch.where(unclamped, a0, torch.full_like(a0, alpha_max))
        alpha.masked_fill_(alpha < alpha_min, 0.0)
        log_1ma = torch.log1p(-alpha)
        log_t_before = log_t[:, :, None] + torch.matmul(log_1ma, excl)  # [A, tp, C]
        log_t_end = log_t_before[:, :, -1] + log_1ma[:, :, -1]
        if bool((log_t_end <= log_tmin).any()) or bool(done.any()):
            # A pixel stops for good before the splat that would drop T to the minimum.
            keep = (log_t_before + log_1ma > log_tmin) & ~done[:, :, None]
            done = ~keep[:, :, -1]
            alpha.mul_(keep)
            log_t_end = log_t + (log_1ma * keep).sum(dim=2)
        t_before = torch.exp(log_t_before)
        weights = alpha * t_before  # [A, tp, C]
        ctx.save_for_backward(pix_feats, feats, excl, alpha, unclamped, t_before, weights)
        ctx.mark_non_differentiable(done)
        return torch.bmm(weights, feats), log_t_end, done

    @staticmethod
    def backward(ctx, g_contrib, g_log_t_end, _g_done):
        pix_feats, feats, excl, alpha, unclamped, t_before, weights = ctx.saved_tensors
        g_feats = torch.bmm(weights.transpose(1, 2), g_contrib)  # [A, C, 4]
        g_w = torch.bmm(g_contrib, feats.transpose(1, 2))  # [A, tp, C]
        g_ltb = g_w * weights  # d w / d log T_before = w
        g_log_t = g_ltb.sum(dim=2) + g_log_t_end
        # log T_before[k] = log T_in + Σ_{j<k} log(1 − α_j);  log T_end = log T_in + Σ_j log(1 − α_j)
        g_log_1ma = torch.matmul(g_ltb, excl.T) + g_log_t_end[:, :, None]
        g_alpha = g_w * t_before - g_log_1ma / (1 - alpha)
        g_power = g_alpha * alpha * unclamped  # α = exp(power) where it passes, constant where clamped or cut
        g_coef = torch.matmul(pix_feats.T, g_power)  # [A, 6, C]
        return None, g_coef, g_feats, g_log_t, None, None, None, None, None


class TorchRenderer(Renderer):
    """The reference CPU renderer; also the training renderer when CUDA/gsplat is not available."""

    name = "torch"
    differentiable = True

    def __init__(self, config: RenderConfig | None = None, chunk: int = 32) -> None:
        super().__init__(config)
        self.chunk = chunk  # splats composited per tile per step; bounds memory to tiles·256·chunk

    def render(self, frame: GaussianFrame, camera: Camera,
               background: tuple[float, float, float] | None = None) -> RenderOutput:
        cfg = self.config
        dev, dtype = frame.means.device, frame.means.dtype
        H, W, ts = camera.height, camera.width, cfg.tile_size
        tiles_x, tiles_y = -(-W // ts), -(-H // ts)
        n_tiles, tp = tiles_x * tiles_y, ts * ts
        proj = project(frame.means, frame.quats, frame.scales, frame.opacities, camera, cfg)
        table, counts = bin_tiles(proj, tiles_x, tiles_y, ts)

        # Pixels in tile-centred coordinates (u, v) in [-ts/2, ts/2], the same for every tile, lifted
        # to quadratic features so a splat's exponent over a tile is one small matmul; centring keeps
        # the expansion's cancellation error at float32 round-off.
        lv, lu = torch.meshgrid(torch.arange(ts, device=dev), torch.arange(ts, device=dev), indexing="ij")
        u = lu.reshape(-1).to(dtype) + 0.5 - ts / 2
        v = lv.reshape(-1).to(dtype) + 0.5 - ts / 2
        pix_feats = torch.stack([u * u, v * v, u * v, u, v, torch.ones_like(u)], dim=1)  # [tp, 6]
        tile_ctr = torch.stack(torch.meshgrid(torch.arange(tiles_y, device=dev), torch.arange(tiles_x, device=dev),
                                              indexing="ij")[::-1], dim=-1).reshape(-1, 2).to(dtype) * ts + ts / 2

        # Everything a tile step reads of a splat, in one row so each step gathers once; an extra
        # inert last row (index -1 of the padded table) has zero opacity. log-opacity joins the
        # exponent, so alpha = exp(power + log o) costs one op per pixel·splat.
        log_opac = torch.log(frame.opacities.clamp_min(1e-30))
        attrs = torch.cat([proj.means2d, proj.conics, log_opac[:, None], frame.colors, proj.depths[:, None]], dim=1)
        inert = attrs.new_zeros(1, 10)
        inert[0, 5] = math.log(1e-30)
        attrs = torch.cat([attrs, inert])  # [N + 1, 10]
        log_tmin = math.log(cfg.transmittance_min)
        chunk = self.chunk
        # Exclusive prefix sum along a chunk as a matmul (cheaper than cumsum and its backward).
        excl = torch.triu(torch.ones(chunk, chunk, dtype=dtype, device=dev), diagonal=1)  # [C, C]

        # State of the tiles still compositing, aligned with `active`; retired tiles move to `finished`.
        active = torch.arange(n_tiles, device=dev)
        log_t = torch.zeros(n_tiles, tp, dtype=dtype, device=dev)  # [A, tp] log transmittance
        done = torch.zeros(n_tiles, tp, dtype=torch.bool, device=dev)  # [A, tp] pixel stopped compositing
        acc = torch.zeros(n_tiles, tp, 4, dtype=dtype, device=dev)  # [A, tp, 4] Σ w·(rgb, z)
        finished: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for k0 in range(0, table.shape[1] + 1, chunk):
            with torch.no_grad():
                alive = (counts[active] > k0) & ~done.all(dim=1)
            if not bool(alive.all()):
                gone = ~alive
                finished.append((active[gone], acc[gone], log_t[gone]))
                active, acc, log_t, done = active[alive], acc[alive], log_t[alive], done[alive]
            if active.numel() == 0:
                break
            idx = table[active, k0:k0 + chunk]  # [A, C]
            c = idx.shape[1]
            a = attrs[idx]  # [A, C, 10]
            m = a[..., 0:2] - tile_ctr[active][:, None, :]  # [A, C, 2] splat centre relative to tile centre
            ca, cb, cc, lo = a[..., 2], a[..., 3], a[..., 4], a[..., 5]
            mu, mv = m[..., 0], m[..., 1]
            coef = torch.stack([-0.5 * ca, -0.5 * cc, -cb, ca * mu + cb * mv, cc * mv + cb * mu,
                                lo - (0.5 * ca * mu * mu + 0.5 * cc * mv * mv + cb * mu * mv)], dim=1)  # [A, 6, C]
            contrib, log_t, done = _CompositeChunk.apply(
                pix_feats, coef, a[..., 6:10], log_t, done, excl[:c, :c], cfg.alpha_min, cfg.alpha_max, log_tmin)
            acc = acc + contrib
        finished.append((active, acc, log_t))
        order = torch.argsort(torch.cat([f[0] for f in finished]))
        accum = torch.cat([f[1] for f in finished])[order]  # [n_tiles, tp, 4]
        trans = torch.exp(torch.cat([f[2] for f in finished])[order])  # [n_tiles, tp]

        bg = torch.tensor(self._background(background), dtype=dtype, device=dev)
        # [n_tiles, tp, ·] -> [H, W, ·]
        def to_image(t: torch.Tensor) -> torch.Tensor:
            c = t.shape[-1]
            img = t.reshape(tiles_y, tiles_x, ts, ts, c).permute(0, 2, 1, 3, 4)
            return img.reshape(tiles_y * ts, tiles_x * ts, c)[:H, :W]
        acc_img = to_image(accum)
        alpha_img = 1 - to_image(trans[:, :, None])[..., 0]
        rgb = acc_img[..., :3] + (1 - alpha_img)[..., None] * bg
        depth = torch.where(alpha_img > 0, acc_img[..., 3] / alpha_img.clamp_min(1e-10), torch.zeros_like(alpha_img))
        return RenderOutput(rgb=rgb, alpha=alpha_img, depth=depth)
