"""Tutorials: guided, self-verifying learning on a live cluster (`lab tutorial ...`).

A tutorial experiment deploys like any other (the conduct pipeline), then — on a terminal — runs
a foreground session between the checks and the teardown (`session.py`): it opens the services
the tutorial declares (`endpoints.py`: load balancer addresses, else port-forwards it owns),
walks the checkpoints and verifies each with ordinary checks when the learner asks. Progress is
saved (`progress.py`) so `lab tutorial check` from a second terminal (`verify.py`) and `lab
tutorial resume` see the same state. Without a terminal (CI) the checkpoints run as checks, each
after its solution is applied (`solutions.py`), which proves the tutorial can be completed.
"""
