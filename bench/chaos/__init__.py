"""The chaos suite: whole sync cycles under faults and SIGKILL, then invariants.

Tooling, not product: ``engine`` drives the emulators and the cycles, ``cycle`` is the
child process's side (one :func:`tasks.steps.cycle.run_cycle`), ``checks`` holds the
invariants and the output scan, ``cli`` is ``python -m bench.chaos`` (``make chaos``).
"""
