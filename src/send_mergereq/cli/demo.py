"""``send-mergereq demo``: the whole flow on a throwaway repository and the sandbox."""

from __future__ import annotations

import click

from send_mergereq.cli.options import EPILOG


class _ScenarioOption(click.Option):
    """``--scenario``, whose help lists the shipped scenarios only when help is shown (the
    demo module is not imported by every run just to build a help text)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from send_mergereq.demo.flow import scenario_names

        self.help = "Pipeline scenario: " + ", ".join(scenario_names()) + " [green]."
        return super().get_help_record(ctx)


@click.command(epilog=EPILOG)
@click.option("--scenario", cls=_ScenarioOption, default="green", metavar="NAME")
@click.option("--keep", is_flag=True, help="Keep the throwaway repository afterwards.")
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1),
    default=80.0,
    show_default=True,
    help="Virtual pipeline seconds per real second.",
)
@click.argument("send_args", nargs=-1, metavar="[-- SEND-MERGEREQ OPTIONS]")
def demo(*, scenario: str, keep: bool, time_scale: float, send_args: tuple[str, ...]) -> int:
    """Run the whole flow on a throwaway repo against the embedded sandbox GitLab.

    Builds a repository with two signed-tag pull requests merged into staging
    (three for --scenario culprit, which goes on to bisect, eject and land),
    starts a GitLab-compatible server on loopback (on a virtual clock), and runs
    `send-mergereq staging --wait` and the options after `--` against it (with
    --no-mr the sandbox runs branch pipelines). Nothing of your own git or gpg
    configuration is read or written.
    """
    from send_mergereq.demo import flow as demo_flow
    from send_mergereq.output import Output

    if scenario not in demo_flow.scenario_names():
        known = ", ".join(demo_flow.scenario_names())
        raise click.BadParameter(
            f"unknown scenario {scenario!r}; known: {known}", param_hint="--scenario"
        )

    out = Output()

    def say(line: str) -> None:
        out.verbatim(line + "\n")  # the demo's own lines, on stderr

    return demo_flow.run(
        scenario=scenario, keep=keep, time_scale=time_scale, extra_args=send_args, say=say
    )
