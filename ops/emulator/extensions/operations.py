"""Stack operations that outlast their API call, as CloudFormation's do.

In AWS, ExecuteChangeSet returns at once: the stack stays `UPDATE_IN_PROGRESS` while each
resource is updated and stabilises, and the CDK CLI polls DescribeStacks and the stack events
until the stack settles. An endpoint update under a `DeploymentConfig` stabilises only when
SageMaker's deployment has baked and finished, minutes later. So the emulator runs a stack
update on a thread of its own (`run`), and the API call answers as soon as the update is done or
a resource starts such a long wait (`wait_long`), whichever comes first. Updates without a long
wait still look synchronous, which tests and scripts that read the status right after executing
rely on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# How long the API call waits for an update that starts no long wait; past it, the call answers
# and the stack reports UPDATE_IN_PROGRESS until the update ends.
ANSWER_WITHIN_S = 120.0

_local = threading.local()


@dataclass
class Operation:
    """One stack operation on its own thread.

    Args:
        answer: set once the API call may answer (the operation is done or waits long).
        done: set once the operation has ended, successfully or not.
    """

    name: str
    answer: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def run(
    name: str, work: Callable[[], None], *, answer_within: float = ANSWER_WITHIN_S
) -> Operation:
    """Run `work` on a thread; return once it is done or waits long (at most `answer_within`).

    `work` records its own outcome on the stack (status and events); an exception escaping it
    is a bug in the emulator and is logged, not raised to the caller.
    """
    operation = Operation(name)

    def target() -> None:
        _local.operation = operation
        try:
            work()
        except Exception:
            logger.exception("stack operation %s failed unexpectedly", name)
        finally:
            _local.operation = None
            operation.done.set()
            operation.answer.set()

    threading.Thread(target=target, name=f"stack-{name}", daemon=True).start()
    operation.answer.wait(answer_within)
    return operation


def wait_long(event: threading.Event, *, timeout: float) -> bool:
    """Wait for `event` inside a stack operation, letting its API call answer meanwhile.

    Returns whether the event was set within `timeout` seconds. Outside a stack operation (a
    resource created by CreateStack, a test calling the model directly) it simply waits.
    """
    operation: Operation | None = getattr(_local, "operation", None)
    if operation is not None:
        operation.answer.set()
    return event.wait(timeout)
