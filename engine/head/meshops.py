"""Small numpy triangle-mesh utilities shared by the rig builder and its tests."""
from __future__ import annotations

from collections import Counter

import numpy as np


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """0 below e0, 1 above e1, C1-smooth in between."""
    t = np.clip((np.asarray(x, np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def directed_edges(faces: np.ndarray) -> np.ndarray:
    """[3F, 2] half-edges (a, b) of faces [F, 3] in winding order."""
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Closed boundary loops of an oriented manifold mesh, each following the faces' winding
    (half-edges whose twin is missing, chained a -> b)."""
    he = directed_edges(faces)
    present = set(map(tuple, he))
    nxt = {int(a): int(b) for a, b in he if (b, a) not in present}
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        loops.append(np.array(loop))
    return loops


def is_closed_oriented(faces: np.ndarray) -> bool:
    """True when every half-edge appears once and its twin once (closed, consistently oriented, and
    edge-manifold)."""
    counts = Counter(map(tuple, directed_edges(faces)))
    return all(c == 1 and counts.get((b, a), 0) == 1 for (a, b), c in counts.items())


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed mesh; positive when its faces wind outward."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def neighbours(faces: np.ndarray, num_vertices: int) -> list[np.ndarray]:
    """One-ring vertex neighbours of each vertex."""
    e = directed_edges(faces)
    e = np.unique(np.concatenate([e, e[:, ::-1]]), axis=0)
    split = np.searchsorted(e[:, 0], np.arange(num_vertices + 1))
    return [e[split[i]:split[i + 1], 1] for i in range(num_vertices)]


def edge_graph(vertices: np.ndarray, faces: np.ndarray):
    """Sparse symmetric [V, V] matrix of edge lengths (scipy csr)."""
    from scipy.sparse import coo_matrix

    e = directed_edges(faces)
    e = np.unique(np.sort(e, axis=1), axis=0)
    w = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1)
    n = len(vertices)
    g = coo_matrix((np.concatenate([w, w]), (np.concatenate([e[:, 0], e[:, 1]]), np.concatenate([e[:, 1], e[:, 0]]))),
                   shape=(n, n))
    return g.tocsr()


def geodesic_distance(vertices: np.ndarray, faces: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Shortest edge-path distance [V] from the nearest of sources (inf where unreachable): an
    approximation of geodesic distance that respects the mesh's topology (lips apart, lids apart)."""
    from scipy.sparse.csgraph import dijkstra

    return dijkstra(edge_graph(vertices, faces), directed=False, indices=np.asarray(sources), min_only=True)


def smooth_fill(vertices: np.ndarray, faces: np.ndarray, fixed: np.ndarray, values: np.ndarray,
                order: int = 1) -> np.ndarray:
    """Interpolate values [K, C] given at vertex indices fixed [K] over the rest of the mesh -> [V, C].

    order 1: harmonic (L x = 0 at free vertices: stays within the fixed values, but falls steeply
    next to thin anchors such as a lip line); order 2: biharmonic (minimises ||L x||^2: a thin-plate
    falloff that leaves anchors smoothly, may overshoot slightly). L is the random-walk
    graph Laplacian with inverse-edge-length weights. Vertices no fixed vertex can reach get 0."""
    from scipy.sparse import diags, identity
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.linalg import spsolve

    n = len(vertices)
    g = edge_graph(vertices, faces)
    w = g.copy()
    w.data = 1.0 / np.maximum(w.data, 1e-6)  # nearer neighbours pull harder: smoother on uneven meshes
    degree = np.asarray(w.sum(axis=1)).ravel()
    lap = (identity(n) - diags(1.0 / np.maximum(degree, 1e-12)) @ w).tocsr()
    system = (lap.T @ lap).tocsr() if order == 2 else lap
    values = np.asarray(values, np.float64).reshape(len(fixed), -1)
    out = np.zeros((n, values.shape[1]))
    out[fixed] = values
    is_fixed = np.zeros(n, bool)
    is_fixed[fixed] = True
    # Free vertices in components without a fixed vertex would make the system singular.
    _, comp = connected_components(g, directed=False)
    free = ~is_fixed & np.isin(comp, np.unique(comp[fixed]))
    if free.any():
        a = system[free][:, free].tocsc()
        rhs = -system[free][:, is_fixed] @ out[is_fixed]
        out[free] = spsolve(a, rhs).reshape(-1, values.shape[1])
    return out
