"""What the original student study reported and argued: quoted, never computed.

These numbers are the study's own, for DermaMNIST only, shown beside this run's for comparison.
"""

from __future__ import annotations

STUDY_DATASET = "dermamnist"

STUDY_TEST = {
    "accuracy": 0.70,
    "auc": 0.838,
    # DermaMNIST class index -> (precision, recall, F1, support); order of medmnist.INFO labels
    "per_class": [
        (0.00, 0.00, 0.00, 66),
        (0.26, 0.35, 0.30, 103),
        (0.60, 0.16, 0.25, 220),
        (0.00, 0.00, 0.00, 23),
        (0.38, 0.04, 0.07, 223),
        (0.74, 0.99, 0.84, 1341),
        (0.00, 0.00, 0.00, 29),
    ],
    # The study's prevalence column: each class's share of the training split, in %
    # (DermaMNIST's official train counts over 7,007).
    "prevalence_percent": [3.25, 5.12, 10.97, 1.14, 11.12, 66.98, 1.41],
}

WHY_CNN = [
    (
        "Spatial locality",
        "Convolutions look at neighbouring pixels, where lesion texture and borders live.",
    ),
    ("Translation invariance", "A pattern is recognised wherever it sits in the image."),
    (
        "Parameter efficiency",
        "Shared filters need far fewer weights than dense layers on raw pixels.",
    ),
]

WHY_NOT = [
    (
        "Fully connected networks",
        "Flatten the image and lose spatial information; need many more parameters.",
    ),
    ("RNNs / LSTMs", "Made for sequences, not for 2D images."),
    ("Transformers", "Overkill for 28×28 images; need much data and compute."),
]

# (area, choice, benefit, cost)
DECISIONS = [
    (
        "Architecture",
        "4 conv layers with ReLU and BatchNorm",
        "Gradient flow, stability, quick to train",
        "Manual tuning, less general",
    ),
    (
        "Architecture",
        "MaxPooling after some layers",
        "Smaller feature maps, less compute",
        "Lost spatial detail",
    ),
    (
        "Architecture",
        "FC 64×4×4 → 128 → 128 → classes",
        "Capacity fits the data",
        "Hard-coded spatial size, no global pooling",
    ),
    (
        "Training",
        "SGD, learning rate 0.01",
        "Simple, well understood",
        "Slower convergence than Adam",
    ),
    ("Training", "10 epochs", "A reasonable default", "Maybe too few to converge"),
    (
        "Training",
        "Batch size 100",
        "Memory-efficient, fast",
        "Less of the gradient noise that helps generalization",
    ),
]

NEXT_STEPS = [
    ("class_weighted_loss", "Class-weighted loss"),
    ("oversampling", "Oversampling or augmenting minority classes"),
    ("thresholds", "Tuning decision thresholds for rare-class sensitivity"),
    ("optimisation", "Lower learning rates or gradient clipping"),
]
