"""The analysis' special functions, in NumPy: the normal distribution function and
quantile, Student's t distribution function and quantile, and the noncentral t survival
function. They are the statistics' own (no scipy: importing ``scipy.special`` cost every
compare ~0.1-0.15 s), and ``tests/test_special.py`` checks each against mpmath at 50 digits
and Boost (through scipy).

* :func:`ndtr`, ``Phi(x) = P(Z <= x)``: W. J. Cody's rational Chebyshev approximations
  (ACM TOMS 715, 1993; the three ranges of R's ``pnorm``), ``x R(x^2) + 1/2`` near 0 and
  ``exp(-x^2/2) R(|x|)`` in the tails, the exponential split so that ``x^2`` is exact
  (relative error a few ulp down to ``x = -37.5``, where ``Phi`` leaves the doubles).
* :func:`ndtri`, ``Phi^{-1}(p)``: Wichura's AS 241 (PPND16, Applied Statistics 1988),
  rational functions of ``p - 1/2`` or of ``sqrt(-ln min(p, 1 - p))`` (about 1e-16).
* :func:`stdtr`, ``P(T_df <= t)``: ``P(T_df > |t|) = I_x(df/2, 1/2) / 2`` with
  ``x = df / (df + t^2)``, ``I`` the regularized incomplete beta function (below).
* :func:`stdtrit`, the t quantile: Hill's start (ACM Algorithm 396, 1970, as in R's
  ``qt``), then steps of the second-order Taylor expansion of the quantile (Hill 1981).
* :func:`nct_sf`, ``P(T'_{df, nc} > t)``: for ``t >= 0``,
  ``P(T' <= t) = Phi(-nc) + 1/2 sum_j (p_j I_x(j + 1/2, df/2) + q_j I_x(j + 1, df/2))``
  with ``x = t^2 / (t^2 + df)``, ``p_j = e^{-l} l^j / j!``, ``q_j = nc e^{-l} l^j /
  (sqrt(2) Gamma(j + 3/2))`` and ``l = nc^2 / 2`` (Lenth, AS 243, 1989), summed outward
  from the largest Poisson weight ``j = floor(l)`` with the recurrences of ``I`` in its
  first argument (Benton and Krishnamoorthy, CSDA 2003), so that a large ``nc`` neither
  underflows nor needs every term from ``j = 0``. For ``t < 0``,
  ``P(T'_{df, nc} > t) = P(T'_{df, -nc} <= -t)``.

The regularized incomplete beta ``I_x(a, b)`` is ``x^a y^b / (a B(a, b))`` (``y = 1 - x``)
times the continued fraction of Numerical Recipes (``betacf``, 3rd ed., section 6.4),
evaluated by the modified Lentz method, with ``I_x(a, b) = 1 - I_y(b, a)`` where ``x``
is beyond ``(a + 1) / (a + b + 2)``, so the fraction always converges fast and the smaller
tail is the one computed. The prefactor is formed as DiDonato and Morris do (ACM TOMS 708,
1992): with Stirling's series ``ln Gamma(z) = (z - 1/2) ln z - z + ln(2 pi)/2 + d(z)``,

    ln(x^a y^b / B(a, b)) = a ln(x (a+b)/a) + b ln(y (a+b)/b)
                            + ln(ab / (2 pi (a+b))) / 2 + d(a+b) - d(a) - d(b),

which keeps full relative accuracy for large ``a`` and ``b`` where differences of
``ln Gamma`` (each ~1e5 at ``df = 1e5``) would lose ten digits.
"""

from __future__ import annotations

import math

import numpy as np

_LN_2PI = math.log(2 * math.pi)
_lgamma = np.vectorize(math.lgamma, otypes=[float])

# Cody's coefficients (TOMS 715, ANORM), highest power first, each denominator monic.
_CENTRAL = (
    (0.065682337918207449113, 2.2352520354606839287, 161.02823106855587881,
     1067.6894854603709582, 18154.981253343561249),
    (1.0, 47.20258190468824187, 976.09855173777669322, 10260.932208618978205,
     45507.789335026729956),
)  # fmt: skip
_MIDDLE = (
    (1.0765576773720192317e-8, 0.39894151208813466764, 8.8831497943883759412,
     93.506656132177855979, 597.27027639480026226, 2494.5375852903726711,
     6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218),
    (1.0, 22.266688044328115691, 235.38790178262499861, 1519.377599407554805,
     6485.558298266760755, 18615.571640885098091, 34900.952721145977266,
     38912.003286093271411, 19685.429676859990727),
)  # fmt: skip
_TAIL = (
    (0.02307344176494017303, 0.21589853405795699, 0.1274011611602473639,
     0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5),
    (1.0, 1.28426009614491121, 0.468238212480865118, 0.0659881378689285515,
     0.00378239633202758244, 7.29751555083966205e-5),
)  # fmt: skip

# Wichura's coefficients (AS 241, PPND16), highest power first.
_PPND_CENTRAL = (
    (2509.0809287301226727, 33430.575583588128105, 67265.770927008700853,
     45921.953931549871457, 13731.693765509461125, 1971.5909503065514427,
     133.14166789178437745, 3.3871328727963666080),
    (5226.4952788528545610, 28729.085735721942674, 39307.895800092710610,
     21213.794301586595867, 5394.1960214247511077, 687.18700749205790830,
     42.313330701600911252, 1.0),
)  # fmt: skip
_PPND_NEAR = (
    (7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
     1.27045825245236838258, 3.64784832476320460504, 5.76949722146069140550,
     4.63033784615654529590, 1.42343711074968357734),
    (1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
     1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940,
     2.05319162663775882187, 1.0),
)  # fmt: skip
_PPND_FAR = (
    (2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
     2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580,
     5.46378491116411436990, 6.65790464350110377720),
    (2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
     7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
     5.99832206555887937690e-1, 1.0),
)  # fmt: skip


def _table(*rationals: tuple[tuple[float, ...], ...]) -> np.ndarray:
    """The rationals' numerators and denominators as rows of one coefficient matrix
    (highest power first, padded with leading zeros to a common degree)."""
    rows = [c for pair in rationals for c in pair]
    width = max(len(c) for c in rows)
    return np.array([(0.0,) * (width - len(c)) + c for c in rows])


_NDTR = _table(_CENTRAL, _MIDDLE, _TAIL)
_NDTRI = _table(_PPND_CENTRAL, _PPND_NEAR, _PPND_FAR)


def _rationals(table: np.ndarray, *args: np.ndarray) -> np.ndarray:
    """Rational ``i`` of ``table`` at ``args[i]``, each by Horner's rule, all together (one
    array operation per power: these run on small grids, where the count matters)."""
    x = np.repeat(np.stack(args), 2, axis=0)
    c = table.reshape(*table.shape, *(1,) * (x.ndim - 1))  # rows against x's rows
    v = c[:, 0] * x
    for k in range(1, table.shape[1] - 1):
        v += c[:, k]
        v *= x
    v += c[:, -1]
    return v[0::2] / v[1::2]


def ndtr(x: np.ndarray | float) -> np.ndarray:
    """``Phi(x)``, the standard normal distribution function (Cody's three ranges: see the
    module docstring). With ``y = |x|``:

    * ``y <= 0.674``: ``Phi(x) = 1/2 + x R_1(x^2)``;
    * ``y <= sqrt(32)``: ``Phi(-y) = exp(-y^2/2) R_2(y)``;
    * beyond: ``Phi(-y) = exp(-y^2/2) (1/sqrt(2 pi) - y^-2 R_3(y^-2)) / y``;

    ``Phi(y) = 1 - Phi(-y)``. ``exp(-y^2/2)`` is ``exp(-s^2/2) exp(-(y-s)(y+s)/2)`` with
    ``s = trunc(16 y) / 16`` (``s^2`` exact), so the tail keeps its relative accuracy."""
    x = np.asarray(x, dtype=float)
    y = np.abs(x)
    with np.errstate(all="ignore"):
        far = 1 / (y * y)
        r1, r2, r3 = _rationals(_NDTR, x * x, y, far)
        central = 0.5 + x * r1
        tail = np.where(y <= math.sqrt(32), r2, (1 / math.sqrt(2 * math.pi) - far * r3) / y)
        s = np.trunc(16 * y) / 16
        lower = np.exp(-s * s / 2) * np.exp(-(y - s) * (y + s) / 2) * tail  # Phi(-y)
        lower = np.where(y > 40, 0.0, lower)  # below the smallest double (and y = inf)
        out = np.where(y <= 0.67448975, central, np.where(x > 0, 1 - lower, lower))
    return out[()]


def ndtri(p: np.ndarray | float) -> np.ndarray:
    """``Phi^{-1}(p)``, the standard normal quantile (Wichura's AS 241): ``q R_1(r)`` with
    ``q = p - 1/2``, ``r = 0.180625 - q^2`` for ``|q| <= 0.425``; otherwise, with
    ``r = sqrt(-ln min(p, 1 - p))``, ``+-R_2(r - 1.6)`` for ``r <= 5`` and ``+-R_3(r - 5)``
    beyond. ``-inf`` at 0, ``inf`` at 1, NaN outside ``[0, 1]`` (where the logarithm is)."""
    p = np.asarray(p, dtype=float)
    q = p - 0.5
    with np.errstate(all="ignore"):
        r = np.sqrt(-np.log(np.minimum(p, 1 - p)))
        r1, r2, r3 = _rationals(_NDTRI, 0.180625 - q * q, r - 1.6, r - 5)
        central = q * r1
        tail = np.where(r <= 5, r2, r3)
        out = np.where(np.abs(q) <= 0.425, central, np.copysign(tail, q))
        out = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, out))
    return out[()]


def _stirling(a: np.ndarray | float) -> np.ndarray | float:
    """``d(a) = ln Gamma(a) - (a - 1/2) ln a + a - ln(2 pi) / 2``: Stirling's series
    ``sum_k B_2k / (2k (2k-1) a^(2k-1))`` (seven terms, error < 1e-16 relative) from
    ``a = 10``, ``ln Gamma`` below (where it is small, so little cancels). A float for a
    float (plain arithmetic: the scalar paths below are ~20x faster than NumPy's)."""
    scalar = not isinstance(a, np.ndarray)
    z = (a if a >= 10 else 10.0) if scalar else np.where(a >= 10, a, 10.0)
    r = 1 / (z * z)
    series = (
        1 / 12
        + r * (-1 / 360 + r * (1 / 1260 + r * (-1 / 1680 + r * (1 / 1188 + r * (-691 / 360360 + r / 156)))))
    ) / z  # fmt: skip
    if scalar:
        return series if a >= 10 else math.lgamma(a) - (a - 0.5) * math.log(a) + a - _LN_2PI / 2
    small, where = np.unique(np.where(a >= 10, 10.0, a), return_inverse=True)  # few values
    direct = _lgamma(small) - (small - 0.5) * np.log(small) + small - _LN_2PI / 2
    return np.where(a >= 10, series, direct[where.reshape(np.shape(a))])


def _log_front(a: np.ndarray, b: np.ndarray, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """``ln(x^a y^b / B(a, b))`` from ``lx = ln x`` and ``ly = ln y`` (DiDonato and Morris:
    see the module docstring); floats or arrays."""
    c = a + b
    return (
        a * (lx + np.log1p(b / a))
        + b * (ly + np.log1p(a / b))
        + 0.5 * np.log(a * b / (2 * math.pi * c))
        + _stirling(c)
        - _stirling(a)
        - _stirling(b)
    )


_CF_TOLERANCE = 1e-15
_CF_MAX_ITERATIONS = 20_000
_TINY = 1e-300


def _beta_cf(a: np.ndarray | float, b: np.ndarray | float, x: np.ndarray | float) -> np.ndarray:
    """The continued fraction ``I_x(a, b) a B(a, b) / (x^a y^b)`` (Numerical Recipes'
    ``betacf``: ``1 / (1 + d_1 / (1 + d_2 / (1 + ...)))`` with ``d_{2m+1} = -(a+m)(a+b+m) x
    / ((a+2m)(a+2m+1))`` and ``d_{2m} = m (b-m) x / ((a+2m-1)(a+2m))``) by the modified
    Lentz method, until the last factor is within 1e-15 of 1 (NaN where that takes more
    than ``_CF_MAX_ITERATIONS``, which the ``x < (a+1)/(a+b+2)`` domain avoids). Floats
    (plain arithmetic) or arrays of one shape (each entry leaves once converged)."""
    scalar = not isinstance(x, np.ndarray)
    if scalar:

        def nonzero(v: float) -> float:
            return _TINY if abs(v) < _TINY else v

    else:

        def nonzero(v: np.ndarray) -> np.ndarray:
            return np.where(np.abs(v) < _TINY, _TINY, v)

        shape = np.shape(x)
        a, b, x = np.ravel(a), np.ravel(b), np.ravel(x)
        out, index = np.full(x.size, np.nan), np.arange(x.size)
    c = 1.0 if scalar else np.ones_like(x)
    d = 1 / nonzero(1 - (a + b) * x / (a + 1))
    h = d
    for m in range(1, _CF_MAX_ITERATIONS + 1):
        for coefficient in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 / nonzero(1 + coefficient * d)
            c = nonzero(1 + coefficient / c)
            factor = d * c
            h = h * factor
        if scalar:
            if not abs(factor - 1) > _CF_TOLERANCE:  # (NaN counts as done)
                return h
            continue
        going = np.abs(factor - 1) > _CF_TOLERANCE
        if going.sum() < 0.8 * going.size or m == _CF_MAX_ITERATIONS:  # drop in batches
            out[index[~going]] = h[~going]
            a, b, x, c, d, h, index = (v[going] for v in (a, b, x, c, d, h, index))
            if not index.size:
                break
    return math.nan if scalar else out.reshape(shape)


def _ibeta(
    a: np.ndarray | float, b: np.ndarray | float, x: np.ndarray | float, y: np.ndarray | float
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """The regularized incomplete beta function ``I_x(a, b)``, ``a, b > 0``, and its
    prefactor ``x^a y^b / B(a, b)``, from ``x`` and ``y = 1 - x`` (each to full relative
    accuracy; see the module docstring). Floats for floats, else arrays."""
    if not any(isinstance(v, np.ndarray) for v in (a, b, x, y)):
        a, b, x, y = float(a), float(b), float(x), float(y)
        if x == 0 or y == 0:
            return float(y == 0), 0.0
        lx = math.log1p(-y) if x > 0.5 else math.log(x)
        ly = math.log1p(-x) if y > 0.5 else math.log(y)
        front = math.exp(_log_front(a, b, lx, ly))
        if x > (a + 1) / (a + b + 2):
            return 1 - front * _beta_cf(b, a, y) / b, front
        return front * _beta_cf(a, b, x) / a, front
    a, b, x, y = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, x, y)))
    with np.errstate(all="ignore"):
        lx = np.where(x > 0.5, np.log1p(-y), np.log(x))
        ly = np.where(y > 0.5, np.log1p(-x), np.log(y))
        front = np.exp(_log_front(a, b, lx, ly))  # symmetric in (a, x) <-> (b, y)
        swap = x > (a + 1) / (a + b + 2)
        p, q, z = np.where(swap, b, a), np.where(swap, a, b), np.where(swap, y, x)
        small = np.where(z == 0, 0.0, front * _beta_cf(p, q, z) / p)
    return np.where(swap, 1 - small, small), front


def stdtr(df: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
    """``P(T_df <= t)`` of Student's t distribution with ``df > 0`` degrees of freedom
    (NaN otherwise): ``P(T_df > |t|) = I_x(df/2, 1/2) / 2``, ``x = df / (df + t^2)``;
    the normal distribution at ``df = inf``."""
    if np.ndim(df) == 0 and np.ndim(t) == 0:
        return np.float64(_stdtr(float(df), float(t)))
    df, t = np.broadcast_arrays(np.asarray(df, dtype=float), np.asarray(t, dtype=float))
    df = np.where(df > 0, df, np.nan)
    with np.errstate(all="ignore"):
        x = 1 / (1 + t * t / df)  # df / (df + t^2) and t^2 / (df + t^2),
        y = 1 / (1 + df / (t * t))  # each to full relative accuracy (also at t = inf)
        beyond = 0.5 * _ibeta(df / 2, 0.5, x, y)[0]  # P(T > |t|)
        out = np.where(t > 0, 1 - beyond, beyond)
    return np.where(np.isinf(df), ndtr(t), out)


def _stdtr(df: float, t: float) -> float:
    """:func:`stdtr` of floats, in plain arithmetic."""
    if not df > 0 or math.isnan(t):
        return math.nan
    if math.isinf(df):
        return float(ndtr(t))
    s = t * t
    x, y = (0.0, 1.0) if math.isinf(s) else (df / (df + s), s / (df + s))
    beyond = 0.5 * _ibeta(df / 2, 0.5, x, y)[0]
    return 1 - beyond if t > 0 else beyond


def _t_density(df: float, t: float) -> float:
    """The t density ``Gamma((df+1)/2) / (sqrt(df pi) Gamma(df/2)) (1 + t^2/df)^-((df+1)/2)``."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


_QUANTILE_STEPS = 10


def _stdtrit(df: float, p: float) -> float:
    """:func:`stdtrit` of floats."""
    df, p = float(df), float(p)
    if not (df > 0 and 0 <= p <= 1):
        return math.nan
    u = min(p, 1 - p)  # the upper tail of |t|
    if u == 0:
        q = math.inf
    elif u == 0.5:
        q = 0.0
    elif math.isinf(df):
        q = -float(ndtri(u))
    else:
        q = _hill(df, u)
        for _ in range(_QUANTILE_STEPS):
            density = _t_density(df, q)
            if not density > 0:  # beyond the doubles: the start is all there is
                break
            e = (_stdtr(df, -q) - u) / density
            step = e * (1 + e * q * (df + 1) / (2 * (q * q + df)))
            q += step
            if not abs(step) > 1e-14 * abs(q):
                break
    return -q if p < 0.5 else q


def _hill(n: float, u: float) -> float:
    """Hill's (1970) approximation of the t quantile with upper tail ``u`` (< 1/2), exact
    for ``n = 1`` and 2."""
    if n == 1:
        return 1 / math.tan(math.pi * u)
    if n == 2:
        return (1 - 2 * u) / math.sqrt(2 * u * (1 - u))
    two = 2 * u
    a = 1 / (n - 0.5)
    b = 48 / (a * a)
    c = ((20700 * a / b - 98) * a - 16) * a + 96.36
    d = ((94.5 / (b + c) - 3) / b + 1) * math.sqrt(a * math.pi / 2) * n
    y = (d * two) ** (2 / n)
    if (n < 2.1 and two > 0.5) or y > 0.05 + a:
        z = float(ndtri(u))
        if n < 5:
            c += 0.3 * (n - 4.5) * (z + 0.6)
        c = (((0.05 * d * z - 5) * z - 7) * z - 2) * z + b + c
        w = (((((0.4 * z * z + 6.3) * z * z + 36) * z * z + 94.5) / c - z * z - 3) / b + 1) * z
        return math.sqrt(n * math.expm1(a * w * w))
    y = ((1 / (((n + 6) / (n * y) - 0.089 * d - 0.822) * (n + 2) * 3) + 0.5 / (n + 4)) * y - 1) * (
        n + 1
    ) / (n + 2) + 1 / y
    return math.sqrt(n * y)


_stdtrit_vectorized = np.vectorize(_stdtrit, otypes=[float])


def stdtrit(df: np.ndarray | float, p: np.ndarray | float) -> np.ndarray:
    """The Student-t quantile ``t`` with ``P(T_df <= t) = p`` (NaN for ``p`` outside
    ``[0, 1]`` or ``df <= 0``).

    For the upper tail ``u = min(p, 1 - p)`` the start is Hill's (1970; exact for
    ``df = 1`` and 2): a normal-based expansion, or for small ``(2 df u)^(2/df)`` a series
    of the far tail. Each step adds ``e (1 + e t (df+1) / (2 (t^2 + df)))``, ``e = (P(T >
    t) - u) / f(t)`` (``f`` the density; Hill 1981's second-order Taylor step), until
    ``|e| <= 1e-14 |t|`` (at most ten steps; two or three suffice)."""
    if np.ndim(df) == 0 and np.ndim(p) == 0:
        return np.float64(_stdtrit(df, p))
    with np.errstate(all="ignore"):  # the loop reports the floats' overflow to inf
        return _stdtrit_vectorized(df, p)


def _nct_cdf(t: float, df: float, nc: float) -> float:
    """``P(T'_{df, nc} <= t)`` for ``t >= 0``: the series of the module docstring over
    ``j = k +- (10 sqrt(l) + 30)``, ``k = floor(l)`` (the Poisson weights beyond are below
    1e-19 of the largest), from ``I_x(a, b)`` at ``j = k`` by ``I_x(a + 1, b) = I_x(a, b)
    - g(a)``, ``g(a) = x^a y^b / (a B(a, b))``, ``g(a + 1) = g(a) x (a + b) / (a + 1)``."""
    if t == 0:
        return float(ndtr(-nc))
    s = t * t
    x, y = (1.0, 0.0) if math.isinf(s) else (s / (df + s), df / (df + s))
    b = df / 2
    lam = nc * nc / 2
    k = math.floor(lam)
    i1, front1 = _ibeta(k + 0.5, b, x, y)  # a = j + 1/2
    i2, front2 = _ibeta(k + 1.0, b, x, y)  # a = j + 1
    log_weight = -lam + (k * math.log(lam) if k else 0.0)
    p0 = math.exp(log_weight - math.lgamma(k + 1))
    q0 = nc / math.sqrt(2) * math.exp(log_weight - math.lgamma(k + 1.5))
    width = math.ceil(10 * math.sqrt(lam)) + 30

    def runs(first: list[float], ratios: list[np.ndarray]) -> np.ndarray:
        """Row ``i``: ``first[i]`` times the running products of ``ratios[i]`` (> 0),
        summed as logarithms so that neither a long product nor an underflowed
        ``first`` spoils the rest."""
        start = np.array(first)
        with np.errstate(divide="ignore"):
            logs = np.cumsum(np.log(np.column_stack((np.ones(4), ratios))), axis=1)
            return np.sign(start)[:, None] * np.exp(np.log(np.abs(start))[:, None] + logs)

    first = [p0, q0, front1 / (k + 0.5), front2 / (k + 1.0)]  # p, q, g1, g2 at j = k
    j = k + np.arange(width - 1, dtype=float)  # k, k + 1, ...: each row from j to j + 1
    p, q, g1, g2 = runs(
        first,
        [lam / (j + 1), lam / (j + 1.5), x * (j + 0.5 + b) / (j + 1.5), x * (j + 1 + b) / (j + 2)],
    )
    total = p @ (i1 - np.cumsum(g1) + g1) + q @ (i2 - np.cumsum(g2) + g2)
    if k:
        j = k - 1 - np.arange(min(k, width), dtype=float)  # k - 1, k - 2, ..., >= 0
        p, q, g1, g2 = runs(
            first,
            [
                (j + 1) / lam,
                (j + 1.5) / lam,
                (j + 1.5) / (x * (j + 0.5 + b)),
                (j + 2) / (x * (j + 1 + b)),
            ],
        )[:, 1:]
        total += p @ (i1 + np.cumsum(g1)) + q @ (i2 + np.cumsum(g2))
    return float(ndtr(-nc)) + total / 2


def _nct_sf_scalar(t: float, df: float, nc: float) -> float:
    t, df, nc = float(t), float(df), float(nc)
    if not (df > 0 and math.isfinite(nc)) or math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    sf = 1 - _nct_cdf(t, df, nc) if t >= 0 else _nct_cdf(-t, df, -nc)
    return min(max(sf, 0.0), 1.0)


_nct_sf = np.vectorize(_nct_sf_scalar, otypes=[float])


def nct_sf(t: np.ndarray | float, df: np.ndarray | float, nc: np.ndarray | float) -> np.ndarray:
    """``P(T'_{df, nc} > t)``, the survival function of the noncentral t distribution
    with ``df > 0`` degrees of freedom and noncentrality ``nc`` (NaN for other ``df``
    or a non-finite ``nc``), clipped to ``[0, 1]``; see the module docstring."""
    if np.ndim(t) == 0 and np.ndim(df) == 0 and np.ndim(nc) == 0:
        return np.float64(_nct_sf_scalar(t, df, nc))
    with np.errstate(all="ignore"):  # the loop reports the floats' overflow to inf
        return _nct_sf(t, df, nc)
