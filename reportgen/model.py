"""Stage 2: the study's CNN, and a plain-data description of it for the Model page."""

from __future__ import annotations

import torch
from torch import nn


class StudyCNN(nn.Module):
    """The study's network: four unpadded 3x3 convolutions, two max-pools, three dense layers.

    Spatial size 28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4, so the classifier sees 64 x 4 x 4 features.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.BatchNorm2d(16), nn.ReLU())
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.layer3 = nn.Sequential(nn.Conv2d(16, 64, 3), nn.BatchNorm2d(64), nn.ReLU())
        self.layer4 = nn.Sequential(
            nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.layer4(self.layer3(self.layer2(self.layer1(images))))
        return self.classifier(features)


class WideCNN(nn.Module):
    """A stronger small net for 2 CPU cores: three VGG-style blocks of two padded 3x3 convolutions
    (width, 2*width, 4*width channels), max-pooling between blocks, global average pooling, and one
    dense layer. Padding keeps border detail; pooling globally drops the hard-coded spatial size.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for block, out_channels in enumerate((width, 2 * width, 4 * width)):
            for _ in range(2):
                layers += [
                    nn.Conv2d(channels, out_channels, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(inplace=True),
                ]
                channels = out_channels
            if block < 2:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(channels, num_classes)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


def build_model(name: str, in_channels: int, num_classes: int, width: int = 32) -> nn.Module:
    """The network a config names: the study's CNN or the wider VGG-style one."""
    if name == "study_cnn":
        return StudyCNN(in_channels, num_classes)
    if name == "wide_cnn":
        return WideCNN(in_channels, num_classes, width)
    raise ValueError(f"unknown model {name!r}: expected study_cnn or wide_cnn")


def describe_layers(model: nn.Module, input_shape: tuple[int, int, int]) -> list[dict[str, object]]:
    """One row per leaf module, from a real forward pass: name, operation, output shape, parameters.

    input_shape is (C, H, W) of one image.
    """
    rows: list[dict[str, object]] = []

    def record(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        rows.append(
            {
                "name": names[module],
                "operation": repr(module),
                "description": plain_operation(module),
                "output_shape": list(output.shape[1:]),
                "parameters": sum(p.numel() for p in module.parameters(recurse=False)),
            }
        )

    names = {module: name for name, module in model.named_modules() if not list(module.children())}
    hooks = [module.register_forward_hook(record) for module in names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return rows


def plain_operation(module: nn.Module) -> str:
    """What a leaf module does, in words a reader without PyTorch can follow."""
    if isinstance(module, nn.Conv2d):
        size = "×".join(str(k) for k in module.kernel_size)
        padded = ", padded" if any(module.padding) else ""
        return f"{size} convolution{padded}: {module.in_channels} → {module.out_channels} channels"
    if isinstance(module, nn.BatchNorm2d):
        return f"batch normalisation of {module.num_features} channels"
    if isinstance(module, nn.ReLU):
        return "ReLU: negative values set to 0"
    if isinstance(module, nn.MaxPool2d):
        return f"{module.kernel_size}×{module.kernel_size} max-pooling: keeps the largest value"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "global average pooling: one mean per channel"
    if isinstance(module, nn.Flatten):
        return "flatten to one vector"
    if isinstance(module, nn.Dropout):
        return f"dropout: zeroes a random {module.p:.0%} of values while training"
    if isinstance(module, nn.Linear):
        return f"dense layer: {module.in_features:,} → {module.out_features:,} values"
    return type(module).__name__


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
