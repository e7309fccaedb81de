#!/usr/bin/env python3
"""The CDK baselines for `make bench`: the same CLI, jsii and aws-cdk-lib, none of the project.

`-c models=N` gives the stacks the project would (Staging-/Prod- per model). Each holds either
one resource and nothing else (the CDK's cost per stack), or, with `-c templates=<dir>`, the
project's own synthesized `<Environment>-<model>.template.json` included as it is through
`cloudformation_include` (one jsii call per stack): what synthesizing and validating templates
of the project's size costs the CDK, with nothing built construct by construct.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import cloudformation_include

ENVIRONMENTS = ("Staging", "Prod")


def main() -> None:
    app = cdk.App()
    models = int(app.node.try_get_context("models") or 1)
    templates = app.node.try_get_context("templates")
    env = cdk.Environment(account="111111111111", region="eu-west-1")
    for index in range(models):
        for prefix in ENVIRONMENTS:
            # The included templates carry the project's own bootstrap-version rule.
            synthesizer = cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=not templates)
            stack = cdk.Stack(app, f"{prefix}-model{index:03d}", env=env, synthesizer=synthesizer)
            if templates:
                (template,) = sorted(Path(templates).glob(f"{prefix}-*.template.json"))
                cloudformation_include.CfnInclude(stack, "Template", template_file=str(template))
            else:
                cdk.CfnWaitConditionHandle(stack, "Placeholder")
    app.synth()


if __name__ == "__main__":
    main()
