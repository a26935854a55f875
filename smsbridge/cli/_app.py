"""The ``smsbridge`` command group and ``main()``: exit codes and one-line errors for everything.

Exit codes: 0 everything was sent (skipped duplicates / invalid numbers do not fail a job; they
are listed in the summary); 1 a recipient failed or is unknown, or the provider / network failed;
2 a usage or configuration error (bad option, bad CSV, missing connection URL); 3 a bulk job
stopped early on an account-level error (wrong token, suspended account) or on the same failure
over and over, leaving the rest to resume; 130 interrupted with Ctrl-C (after the summary of
what was done was printed).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click

from .. import __version__
from ..errors import SmsBridgeError
from ._errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Reworded,
    debug_enabled,
    describe,
    exit_code_for,
    print_error,
    redactor,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name=PROG)
def cli() -> None:
    """Send SMS and place calls through TextUs and TrackDrive.

    \b
    Quick start (no account needed):
      smsbridge demo                      # the whole tour against a local sandbox
      smsbridge sandbox                   # run the sandbox; prints connection URLs
      export SMSBRIDGE_URL='textus://TOKEN@ACCOUNT'
      smsbridge send --to +13035551234 --body "Hi"
      smsbridge bulk people.csv --body "Hi {name}" --journal job.sqlite

    Exit codes: 0 all sent (skipped duplicates/invalid numbers do not count as failures),
    1 some recipient failed or is unknown, 2 usage or configuration error, 3 a bulk job
    stopped early (wrong token, suspended account, provider down; resume it), 130 interrupted.
    """


def _register_commands() -> None:
    from ._commands import call, schedules, send
    from ._demo import demo
    from ._jobs import bulk, resume
    from ._report_cmd import report
    from ._sandbox import sandbox
    from ._store import worker

    for command in (send, bulk, resume, report, worker, schedules, call, sandbox, demo):
        cli.add_command(command)


_register_commands()


def run_cli(args: Sequence[str]) -> int:
    """Run the command line on ``args`` and return the exit code (never raises)."""
    args = list(args)
    redactor.add_from_environment(args)
    redactor.guard_logging()
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `smsbridge`: show the help
        click.echo(exc.format_message())
        return EXIT_OK
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else PROG
        print_error(exc.format_message(), hint=f"see '{where} --help'")
        return EXIT_USAGE
    except click.ClickException as exc:
        print_error(exc.format_message())
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except (SmsBridgeError, Reworded) as exc:
        _debug_traceback()
        print_error(describe(exc))
        return exit_code_for(exc)
    except Exception as exc:
        _debug_traceback()
        print_error(describe(exc))
        return EXIT_FAILED
    if isinstance(result, int):
        return result
    return EXIT_OK


def _debug_traceback() -> None:
    if debug_enabled():
        sys.stderr.write(redactor(traceback.format_exc()))


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``smsbridge = smsbridge.cli:main``)."""
    sys.exit(run_cli(sys.argv[1:] if argv is None else argv))
