"""Stage 3's fast path on CUDA: the whole training step captured once as a CUDA graph.

The study's CNN is tiny, so on a GPU each step's cost is launching its ~80 kernels from Python,
not computing them. A CUDA graph records the step (gather, normalise, forward, loss, backward,
clipping, optimiser) once and replays it with one launch. Replaying runs the same kernels on the
same buffers, so the weights follow the same path as eager steps.

Only steps whose work is the same every time can be captured: a constant learning rate (the
optimiser's rate is baked into the graph), SGD (AdamW would need `capturable=True`), and no
augmentation (it draws random numbers on the CPU and picks images with a data-dependent mask).
Only the study's CNN is captured: the wide CNN's dropout under a graph has not been tested.

A graph holds the addresses of the parameters, gradients and optimiser state it recorded, so it
is valid only while they keep their storage: train_model never replaces them, and restores the
best epoch's weights (load_state_dict copies in place) only after its last replay.
"""

from __future__ import annotations

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
    partial one) runs eagerly.
    """

    def __init__(self, step: Callable[[torch.Tensor], StepOutputs], batch_size: int) -> None:
        self.step = step
        self.index = torch.zeros(batch_size, dtype=torch.long, device="cuda")
        self.side_stream = torch.cuda.Stream()
        self.warmup_left = WARMUP_STEPS
        self.graph: torch.cuda.CUDAGraph | None = None
        self.outputs: StepOutputs | None = None

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self, index: torch.Tensor) -> StepOutputs:
        if index.shape != self.index.shape:
            return self.step(index)
        self.index.copy_(index)
        if self.graph is None:
            if self.warmup_left > 0:
                self.warmup_left -= 1
                return self._on_side_stream()
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):  # records the kernels; runs none of them
                self.outputs = self.step(self.index)
        assert self.outputs is not None
        self.graph.replay()
        return tuple(output.clone() for output in self.outputs)  # the next replay overwrites them

    def _on_side_stream(self) -> StepOutputs:
        main_stream = torch.cuda.current_stream()
        self.side_stream.wait_stream(main_stream)
        with torch.cuda.stream(self.side_stream):
            outputs = self.step(self.index)
        main_stream.wait_stream(self.side_stream)
        return outputs
