"""The model is exactly the study's architecture."""

from __future__ import annotations

import pytest
import torch

from reportgen.model import StudyCNN, build_model, count_parameters, describe_layers


def conv(c_in: int, c_out: int) -> int:
    return c_in * c_out * 9 + c_out


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


@pytest.mark.parametrize(("channels", "classes"), [(3, 7), (1, 2), (3, 5)])
def test_parameter_count_matches_the_study(channels: int, classes: int) -> None:
    batch_norms = 2 * (16 + 16 + 64 + 64)
    expected = (
        conv(channels, 16)
        + conv(16, 16)
        + conv(16, 64)
        + conv(64, 64)
        + batch_norms
        + dense(64 * 4 * 4, 128)
        + dense(128, 128)
        + dense(128, classes)
    )
    assert count_parameters(StudyCNN(channels, classes)) == expected


def test_dermamnist_model_has_197911_parameters() -> None:
    assert count_parameters(StudyCNN(3, 7)) == 197_911


def test_layer_output_shapes_follow_28_26_24_12_10_8_4() -> None:
    layers = describe_layers(StudyCNN(3, 7), (3, 28, 28))
    shapes = {row["name"]: row["output_shape"] for row in layers}
    assert shapes["layer1.0"] == [16, 26, 26]
    assert shapes["layer2.0"] == [16, 24, 24]
    assert shapes["layer2.3"] == [16, 12, 12]
    assert shapes["layer3.0"] == [64, 10, 10]
    assert shapes["layer4.0"] == [64, 8, 8]
    assert shapes["layer4.3"] == [64, 4, 4]
    assert shapes["classifier.0"] == [1024]
    assert shapes["classifier.5"] == [7]
    assert sum(row["parameters"] for row in layers) == 197_911
    operations = [row["operation"].split("(")[0] for row in layers]
    assert operations.count("Conv2d") == 4 and operations.count("BatchNorm2d") == 4
    assert operations.count("MaxPool2d") == 2 and operations.count("Linear") == 3


def test_each_layer_is_described_in_words_with_its_sizes() -> None:
    study = {
        row["name"]: row["description"] for row in describe_layers(StudyCNN(3, 7), (3, 28, 28))
    }
    assert study["layer1.0"] == "3×3 convolution: 3 → 16 channels"
    assert study["layer1.1"] == "batch normalisation of 16 channels"
    assert study["layer2.3"] == "2×2 max-pooling: keeps the largest value"
    assert study["classifier.1"] == "dense layer: 1,024 → 128 values"
    wide = {
        row["name"]: row["description"]
        for row in describe_layers(build_model("wide_cnn", 3, 5, width=8), (3, 28, 28))
    }
    assert wide["features.0"] == "3×3 convolution, padded: 3 → 8 channels"
    assert wide["classifier.0"] == "global average pooling: one mean per channel"
    assert wide["classifier.2"] == "dropout: zeroes a random 20% of values while training"


def test_convolutions_are_unpadded_3x3() -> None:
    convs = [m for m in StudyCNN(3, 7).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.kernel_size, m.padding) for m in convs] == [((3, 3), (0, 0))] * 4
