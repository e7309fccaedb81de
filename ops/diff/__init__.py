"""The PR diff: what a change does to every stack, as the sticky Markdown comment.

One module per concern, in the order data flows:

- `engine`: runs the CDK's own diff engine (`cfn_diff.js`, `@aws-cdk/cloudformation-diff`).
- `describe`: what one template deploys (bundle, rollout plan, variants, scaling, alarms).
- `changes`: compares two assemblies and classifies each stack's change (destructive, IAM).
- `models`: the model section: each changed model's bundles evaluated (`ops.evaluation`),
  hyperparameters and bundle sizes.
- `training_runs`: the MLflow run behind each changed model's base and head weights.
- `model_markdown`: the model section and the regression call-out as Markdown.
- `markdown`: renders the comment within GitHub's size limit.
- `command`: `python -m ops diff` (arguments and exit codes).
"""
