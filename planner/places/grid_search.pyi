"""Types of the compiled grid search (grid_search.pyx)."""

import numpy as np

def square(cells: np.ndarray, order: np.ndarray, lat_a: np.ndarray, lon_a: np.ndarray,
           lat_b: np.ndarray, lon_b: np.ndarray, cols: int, r0: int, r1: int, c0: int,
           c1: int, lat: float, lon: float, below: int, earth_radius_m: float
           ) -> tuple[np.ndarray, np.ndarray]: ...
