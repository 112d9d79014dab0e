"""Peer search tools on a tailor ``Problem``, and the resumable run loop the peer benchmarks share.

``tools``: tailor's tactics, Optuna (NSGA-II, TPE, GP), pymoo NSGA-II and random search, each
returning a ``Trace`` of every evaluation it asked for. ``dynast``: DyNAS-T 1.6.0 through its
hook for user super-networks (only inside DyNAS-T's own virtual environment, which
``benchmarks/peers/install_dynast.sh`` builds with tailor installed in it). ``harness``: work
items, JSON-lines results, worker processes, and the hand-over of ``dynast-*`` items to that
environment. ``mbv3``: the MobileNetV3-on-digits peer problem.
"""
