"""Stage 3's fast path on CUDA: the whole training step captured once as a CUDA graph.

The study's CNN is tiny, so on a GPU each step's cost is launching its ~80 kernels from Python,
not computing them. A CUDA graph records the step (gather, normalise, forward, loss, backward,
clipping, optimiser) once and replays it with one launch. Replaying runs the same kernels on the
same buffers, so the weights follow the same path as eager steps.

Only steps whose work is the same every time can be captured: a constant learning rate (the
optimiser's rate is baked into the graph), SGD (AdamW would need `capturable=True`), and no
augmentation (it draws random numbers on the CPU and picks images with a data-dependent mask).
Only the study's CNN is captured: the wide CNN's dropout under a graph has not been tested.

If capturing fails (a torch or driver version that cannot capture some kernel), the step warns
once and the run goes on with eager steps: slower, with the same weights.

A graph holds the addresses of the parameters, gradients and optimiser state it recorded, so it
is valid only while they keep their storage: train_model never replaces them, and restores the
best epoch's weights (load_state_dict copies in place) only after its last replay.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from reportgen.config import BuildConfig

StepOutputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (loss, targets, probabilities)
WARMUP_STEPS = 3  # eager steps before capture (PyTorch's recipe): cuDNN, autograd, optimiser state


def can_capture(device: torch.device, config: BuildConfig) -> bool:
    """Whether this config's training step can run as a CUDA graph on this device."""
    return (
        device.type == "cuda"
        and config.model == "study_cnn"
        and config.schedule == "constant"
        and config.optimizer == "sgd"
        and not config.augment
    )


class GraphedStep:
    """A training step that replays a CUDA graph for every full batch.

    `step(index)` takes one optimisation step on the images at `index` (a device tensor of
    `batch_size` indices) and returns detached outputs. The first WARMUP_STEPS full batches run
    eagerly on a side stream, the next is captured and every later one replays the graph with its
    indices copied into the captured index buffer. A batch of another size (an epoch's last,
    partial one) runs eagerly, as does every step after a failed capture (`capture_error` says why).
    """

    def __init__(self, step: Callable[[torch.Tensor], StepOutputs], batch_size: int) -> None:
        self.step = step
        self.index = torch.zeros(batch_size, dtype=torch.long, device="cuda")
        self.side_stream = torch.cuda.Stream()
        self.warmup_left = WARMUP_STEPS
        self.graph: torch.cuda.CUDAGraph | None = None
        self.outputs: StepOutputs | None = None
        self.capture_error: str | None = None

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self, index: torch.Tensor) -> StepOutputs:
        if self.capture_error is not None or index.shape != self.index.shape:
            return self.step(index)
        self.index.copy_(index)
        if self.graph is None:
            if self.warmup_left > 0:
                self.warmup_left -= 1
                return self._on_side_stream()
            try:
                self._capture()
            except RuntimeError as error:  # torch's CUDA errors (AcceleratorError) included
                return self._fall_back(error, index)
        assert self.graph is not None and self.outputs is not None
        self.graph.replay()
        return tuple(output.clone() for output in self.outputs)  # the next replay overwrites them

    def _capture(self) -> None:
        main_stream = torch.cuda.current_stream()
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):  # records the kernels; runs none of them
                outputs = self.step(self.index)
        finally:  # when ending the capture fails, torch leaves its capture stream current
            torch.cuda.set_stream(main_stream)
        self.graph, self.outputs = graph, outputs

    def _fall_back(self, error: RuntimeError, index: torch.Tensor) -> StepOutputs:
        """Capturing ran none of the step's kernels, so this batch's step is still to take."""
        self.capture_error = (str(error).strip().splitlines() or [type(error).__name__])[0]
        warnings.warn(
            f"Could not capture the training step as a CUDA graph ({self.capture_error}). This "
            "run goes on with eager steps: slower, with the same weights.",
            RuntimeWarning,
            stacklevel=3,
        )
        return self.step(index)

    def _on_side_stream(self) -> StepOutputs:
        main_stream = torch.cuda.current_stream()
        self.side_stream.wait_stream(main_stream)
        with torch.cuda.stream(self.side_stream):
            outputs = self.step(self.index)
        main_stream.wait_stream(self.side_stream)
        return outputs
