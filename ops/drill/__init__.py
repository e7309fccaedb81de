"""The fire drill: a faulty model version is caught by its alarms, pages the on-call and is
rolled back, on the local AWS emulator with the real CDK CLI and real requests.

- `plan`: the input checked and the project synthesized before anything starts;
- `target`: the stack, endpoint, rollout and rollback alarms, read from the template;
- `faults`: parsing `--fault` and injecting it into a copy of the project;
- `pager`: a loopback HTTP subscriber to the paging topic;
- `traffic`: bounded requests with the model's example.json;
- `timeline`: what AWS reports, recorded as events and per-period samples;
- `verdict`: whether every expected event happened, in order;
- `render`: the timeline as SVG, Markdown and text;
- `command`: `python -m ops drill`.
"""
