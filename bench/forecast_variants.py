"""The benchmark's models: every default and its candidates, by name (``VARIANTS``), the
candidates of one default (``FAMILIES``, the current default listed first: the LOO tie
rule keeps the earliest within 1 %), and the subsets for ``--quick`` and the default run."""

from __future__ import annotations

from autoscaler.forecasters.arima import DEFAULT_ORDERS, NARROW_ORDERS

NARROW = [list(o) for o in NARROW_ORDERS]
WIDE = [list(o) for o in DEFAULT_ORDERS]
# auto's members with theta after level (the tie rule keeps the earlier, simpler one)
AUTO_THETA = ("naive", "seasonal_naive", "level", "theta", "ets", "arima", "mlp")
AUTO_ARIMA = {"polish": 0, "orders": NARROW}  # auto's default for its arima member
# name -> (kind, params). Candidates of one default share a family (see FAMILIES).
VARIANTS: dict[str, tuple[str, dict]] = {
    "naive": ("naive", {}),
    "seasonal_naive": ("seasonal_naive", {}),
    # linear's lookback (issue 13): 4 hours since the 35-series corpus, the in-sample and
    # LOO pick among the candidates below, fixed before any run (20 minutes to 2 hours),
    # then 4 and 8 hours after the first round picked its longest everywhere; ran as
    # "linear 4h" before the default changed
    "linear": ("linear", {}),
    # Monasca's 20 minutes, the default before: a slope from four 5-minute points
    # extrapolated over twelve leads
    "linear 20m": ("linear", {"lookback": "20m"}),
    "linear 30m": ("linear", {"lookback": "30m"}),
    "linear 1h": ("linear", {"lookback": "1h"}),
    "linear 2h": ("linear", {"lookback": "2h"}),
    "linear 8h": ("linear", {"lookback": "8h"}),
    "level": ("level", {}),
    "level calibrated": ("level", {"calibrated": True}),
    "level a=0.1": ("level", {"alpha": 0.1}),
    "level a=0.5": ("level", {"alpha": 0.5}),
    "level a=1": ("level", {"alpha": 1.0}),
    # the width of level's own bands (chosen by coverage, not MASE: see WIDTHS)
    "level w=1": ("level", {"width": 1.0}),
    "level w=1.2": ("level", {"width": 1.2}),
    "level w=1.3": ("level", {"width": 1.3}),
    "ets": ("ets", {}),
    "ets no season": ("ets", {"seasonal": False}),
    "ets A": ("ets", {"errors": ("A",)}),
    "ets cal once": ("ets", {"calibrated": "once"}),
    "ets damped": ("ets", {"trend": True}),
    # issue 13: the initial states estimated by least squares (the default fixes them at
    # the first hour's mean), alone and with a daily profile kept where it does not hurt
    # persistence on the held-out day
    "ets x0=estimated": ("ets", {"initial": "estimated"}),
    "ets x0=estimated season<=1": ("ets", {"initial": "estimated", "season_gain": 1.0}),
    # the season check before 2026-12-03: the errors at 15 and 60 minutes alone, not over
    # every lead up to them (season.CHECKS); the runs of "ets" and "arima" before then
    # are these
    "ets season=ends": ("ets", {"season_check": "ends"}),
    # arima's default (issue 13): every (p, q) up to (3, 2), polished by up to 50
    # maximum-likelihood iterations, the polish started from an invertible MA. The
    # candidates it was chosen among (the "narrow" ones: the earlier five orders) ran
    # under the names in brackets before the default changed (same configurations)
    "arima": ("arima", {}),  # [arima polish=50 wide]
    "arima polish=5": ("arima", {"polish": 5}),  # [arima wide]
    "arima narrow": ("arima", {"orders": NARROW, "polish": 5}),  # [arima], the old default
    "arima narrow no season": ("arima", {"orders": NARROW, "polish": 5, "seasonal": False}),
    "arima narrow no polish": ("arima", {"orders": NARROW, "polish": 0}),
    # the polish skipped where Hannan-Rissanen's MA is not invertible (before ``reflect``)
    "arima narrow no reflect": ("arima", {"orders": NARROW, "polish": 5, "reflect": False}),
    # a daily profile kept where it does not hurt persistence on the held-out day
    "arima narrow season<=1": ("arima", {"orders": NARROW, "polish": 5, "season_gain": 1.0}),
    "arima narrow polish=50": ("arima", {"orders": NARROW, "polish": 50}),
    "arima no season": ("arima", {"seasonal": False}),
    "arima season=ends": ("arima", {"season_check": "ends"}),  # as "ets season=ends"
    # the ARMA window's candidates (issue 12), chosen on CPU-like series. The fit here sees
    # 1440 points (2016 less the conformal hold-out): 2016 is "all of them"
    "arima arma=720": ("arima", {"arma_window": 720}),
    "arima arma=1008": ("arima", {"arma_window": 1008}),
    "arima arma=2016": ("arima", {"arma_window": 2016}),
    "mlp": ("mlp", {}),
    "lstm": ("lstm", {}),
    "ensemble": ("ensemble", {}),
    "auto": ("auto", {}),
    # auto with its arima member on arima's new wide grid (auto keeps the five orders):
    # the fit-time comparison, interleaved per series
    "auto wide": ("auto", {"member_params": {"arima": {"polish": 0, "orders": WIDE}}}),
    "auto mem=24": ("auto", {"memory": 24}),
    # auto's arima member with the maximum-likelihood polish (auto's default skips it)
    "auto polish=5": ("auto", {"member_params": {"arima": {"polish": 5, "orders": NARROW}}}),
    "auto mem=24 polish=5": (
        "auto",
        {"memory": 24, "member_params": {"arima": {"polish": 5, "orders": NARROW}}},
    ),
    # auto's break check (the ratio of recent to usual error that switches to the member
    # that is right now; 0 is off; the default, 3, is "auto")
    "auto recent=0": ("auto", {"recent": 0.0}),
    "auto recent=2": ("auto", {"recent": 2.0}),
    "auto recent=5": ("auto", {"recent": 5.0}),
    # issue 13: auto's per-horizon choice, the first 3 leads (15 min) chosen by the members'
    # errors over their first 3 steps (candidates fixed before any run of them)
    "auto split=3": ("auto", {"split": 3}),
    "auto split=3 mem=24": ("auto", {"split": 3, "memory": 24}),
    # issue 13: a single member chosen only where it scores 5 or 10 % under the
    # combination (combinations hold up better out of sample; fixed before any run)
    "auto margin=0.05": ("auto", {"margin": 0.05}),
    "auto margin=0.1": ("auto", {"margin": 0.1}),
    # issue 13: the Theta method (SES plus half the fitted drift), alone and as a member of
    # auto's, listed after level (the tie rule keeps the earlier, simpler member)
    # the default since the 35-series corpus (its in-sample pick): a daily season by the
    # method's test, kept only where it also helps persistence on a held-out day (the
    # state-space models' check, at their gain); ran as "theta season<=0.95" before
    "theta": ("theta", {}),
    "theta season=none": ("theta", {"season": None}),  # the default on the 33 series
    # its daily season by the method's test alone (theta's first default)
    "theta season=auto": ("theta", {"season": "auto", "season_gain": None}),
    "theta season<=0.95 ends": (
        "theta",
        {"season": "auto", "season_gain": 0.95, "season_check": "ends"},
    ),
    # its theta member as it ran (theta's first default); member_params replace auto's
    # default ones, so its arima member's are restated
    "auto theta": (
        "auto",
        {
            "members": AUTO_THETA,
            "member_params": {
                "arima": AUTO_ARIMA,
                "theta": {"season": "auto", "season_gain": None},
            },
        },
    ),
    # issue 13: auto's rolling validation scored over 30 min of leads instead of the hour
    # (the goal that is missed is at 15 min; 6 steps are less noisy than split's 3), with
    # and without theta; candidates fixed before any run of them
    "auto eval=6": ("auto", {"eval_horizon": 6}),
    # issue 13: one validation day instead of two, so that the members are fitted on six
    # days of the week, not five (auto's mlp member forecasts worse than mlp alone);
    # fixed before its run
    "auto span=1d": ("auto", {"eval_span": "1d"}),
    # issue 13: the members fitted again on the whole week once the validation has
    # scored them (their 5-day fits lose to the 7-day ones on c6585a, 53ea38, 825cc2,
    # rds_cc0c53); about twice auto's fit; fixed before its run
    "auto refit": ("auto", {"refit": True}),
    "auto theta eval=6": (
        "auto",
        {
            "members": AUTO_THETA,
            "member_params": {
                "arima": AUTO_ARIMA,
                "theta": {"season": "auto", "season_gain": None},
            },
            "eval_horizon": 6,
        },
    ),
}
# Comparisons kept for --models but left out of the default run (issue 12's ARMA window,
# the one-fit calibration, auto's fit-time baseline, arima's season switch on the new
# default): no default is chosen among them here.
NOT_BY_DEFAULT = (
    "ets cal once",
    "auto wide",
    "arima no season",
    "arima arma=720",
    "arima arma=1008",
    "arima arma=2016",
)
# --quick: a subset for iterating (never for the figures reported): three CPU-like and
# five request-like series of different kinds, each default's model without its variants.
QUICK_SERIES = (
    "ec2_cpu_utilization_5f5533",
    "rds_cpu_utilization_e47b3b",
    "planetlab_sum_1",
    "ec2_disk_write_bytes_c0d644",
    "ec2_network_in_257a54",
    "Twitter_volume_AAPL",
    "nasa_http",
    "genai_requests",
)
QUICK_MODELS = (
    "naive",
    "seasonal_naive",
    "linear",
    "level",
    "theta",
    "ets",
    "arima",
    "mlp",
    "ensemble",
    "auto",
)
FAMILIES: dict[str, tuple[str, ...]] = {
    "linear": ("linear", "linear 20m", "linear 30m", "linear 1h", "linear 2h", "linear 8h"),
    "theta": ("theta", "theta season=none", "theta season=auto", "theta season<=0.95 ends"),
    "level": ("level", "level a=0.1", "level a=0.5", "level a=1"),
    "ets": (
        "ets",
        "ets no season",
        "ets A",
        "ets damped",
        "ets x0=estimated",
        "ets x0=estimated season<=1",
        "ets season=ends",
    ),
    "arima": (
        "arima",
        "arima polish=5",
        "arima narrow",
        "arima narrow no season",
        "arima narrow no polish",
        "arima narrow no reflect",
        "arima narrow season<=1",
        "arima narrow polish=50",
        "arima season=ends",
    ),
    # auto without the break check first (auto before it): the check ties it on every
    # series but one, so on that one the LOO figure is the check's absence
    "auto": (
        "auto recent=0",
        "auto",
        "auto mem=24",
        "auto polish=5",
        "auto mem=24 polish=5",
        "auto recent=5",
        "auto recent=2",
        "auto split=3",
        "auto split=3 mem=24",
        "auto margin=0.05",
        "auto margin=0.1",
        "auto theta",
        "auto eval=6",
        "auto theta eval=6",
        "auto span=1d",
        "auto refit",
    ),
}
# Candidates that move only the bands, picked by how near their mean coverage comes to
# 0.90 (LOO as above), not by MASE: the width of level's own bands.
WIDTHS: dict[str, tuple[str, ...]] = {
    "level": ("level", "level w=1", "level w=1.2", "level w=1.3"),
}
