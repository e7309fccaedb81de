"""Synth-time security checks, in layers; each module imports only the ones listed before it.

1. `acknowledge` (acknowledging one finding on one construct, with its reason) and
   `sagemaker_facts` (what SageMaker accepts, which a construct and a rule both need): constructs
   import these two, and they import nothing of the project. `values` (reading resolved
   CloudFormation values) imports nothing either.
2. `rule`: what a rule is and the template it reads, through `stacks.templates`.
3. `rules/`: the project's SageMaker rules, one module per concern.
4. `pack`: the rules in order, and every finding of a template.
5. `plugin`: the CDK validation plugin and `add_checks`, which runs it beside cdk-nag's
   AwsSolutions.

Nothing here imports `stacks.constructs`: the checks read templates, not construct code.
"""
