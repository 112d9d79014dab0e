"""Research code behind ``benchmarks/``: ablation runners, training probes, step timing, peer
harnesses and the metadata every benchmark result records.

The product (everything else under ``tailor``) never imports this package; it imports the
product like any user would. Nothing here prints: the benchmark scripts do.

Modules: ``meta`` (``run_metadata``, ``write_result``), ``ablate`` (tactic-variant ablations on
NB201), ``probes`` (gradient-variance probes and sampler timing on a ``Trainer``),
``step_cost`` (interleaved per-step timing of the path samplers), ``peers`` (adapters that run
DyNAS-T, Optuna, pymoo and random search on a tailor ``Problem``).
"""
