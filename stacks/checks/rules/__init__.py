"""The project's SageMaker rules, one module per concern; `stacks.checks.pack` orders them."""
