"""A `python -c` program that runs `lab` with its arguments and says on stderr whether the
official `kubernetes` client got imported: `CLEAN <exit code>` or `KUBERNETES <exit code>`."""

IMPORT_PROBE = (
    "import sys\n"
    "from illm_lab.cli.main import app\n"
    "try:\n"
    "    app(args=sys.argv[1:], prog_name='lab')\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "print('KUBERNETES' if 'kubernetes' in sys.modules else 'CLEAN', code, file=sys.stderr)\n"
)
