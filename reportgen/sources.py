"""What reportgen knows of MedMNIST's sources beyond `medmnist.INFO`, quoted, never generated:
the papers to cite (the model card's Citation section), what the grades of a graded set mean
(the Dataset page), and which classes a clinician would send on to a specialist (the Results
page's screening reading, reportgen.screening)."""

from __future__ import annotations

MEDMNIST_CITATIONS = [
    """@article{yang2023medmnistv2,
  title   = {MedMNIST v2 -- A large-scale lightweight benchmark for 2D and 3D biomedical image classification},
  author  = {Yang, Jiancheng and Shi, Rui and Wei, Donglai and Liu, Zequan and Zhao, Lin and Ke, Bilian and Pfister, Hanspeter and Ni, Bingbing},
  journal = {Scientific Data},
  volume  = {10},
  pages   = {41},
  year    = {2023},
  doi     = {10.1038/s41597-022-01721-8}
}""",
    """@inproceedings{yang2021medmnist,
  title     = {{MedMNIST} Classification Decathlon: A Lightweight {AutoML} Benchmark for Medical Image Analysis},
  author    = {Yang, Jiancheng and Shi, Rui and Ni, Bingbing},
  booktitle = {IEEE 18th International Symposium on Biomedical Imaging (ISBI)},
  pages     = {191--195},
  year      = {2021},
  doi       = {10.1109/ISBI48211.2021.9434062}
}""",
]

# MedMNIST flag -> the source dataset's papers, as MedMNIST asks users to cite them.
SOURCE_CITATIONS = {
    "dermamnist": [
        """@article{tschandl2018ham10000,
  title   = {The {HAM10000} dataset, a large collection of multi-source dermatoscopic images of common pigmented skin lesions},
  author  = {Tschandl, Philipp and Rosendahl, Cliff and Kittler, Harald},
  journal = {Scientific Data},
  volume  = {5},
  pages   = {180161},
  year    = {2018}
}""",
        """@article{codella2019isic,
  title   = {Skin Lesion Analysis Toward Melanoma Detection 2018: A Challenge Hosted by the International Skin Imaging Collaboration ({ISIC})},
  author  = {Codella, Noel and Rotemberg, Veronica and Tschandl, Philipp and others},
  journal = {arXiv preprint arXiv:1902.03368},
  year    = {2019}
}""",
        # The corrected splits that the DermaMNIST pages' leakage caveat cites.
        """@article{abhishek2025dermamnist,
  title   = {Investigating the Quality of {DermaMNIST} and {Fitzpatrick17k} Dermatological Image Datasets},
  author  = {Abhishek, Kumar and Jain, Aditi and Hamarneh, Ghassan},
  journal = {Scientific Data},
  volume  = {12},
  pages   = {196},
  year    = {2025}
}""",
    ],
    "retinamnist": [
        """@article{liu2022deepdrid,
  title   = {{DeepDRiD}: Diabetic Retinopathy -- Grading and Image Quality Estimation Challenge},
  author  = {Liu, Ruhan and Wang, Xiangning and Wu, Qiang and Dai, Ling and others},
  journal = {Patterns},
  volume  = {3},
  number  = {6},
  pages   = {100512},
  year    = {2022},
  doi     = {10.1016/j.patter.2022.100512}
}""",
    ],
    "pneumoniamnist": [
        """@article{kermany2018identifying,
  title   = {Identifying Medical Diagnoses and Treatable Diseases by Image-Based Deep Learning},
  author  = {Kermany, Daniel S. and Goldbaum, Michael and Cai, Wenjia and others},
  journal = {Cell},
  volume  = {172},
  number  = {5},
  pages   = {1122--1131.e9},
  year    = {2018},
  doi     = {10.1016/j.cell.2018.02.010}
}""",
    ],
}

# MedMNIST flag -> the grading scale, its source, and what each grade means, for sets whose classes
# are grades.
GRADE_SCALES = {
    "retinamnist": {
        "scale": "DeepDRiD grades diabetic retinopathy on the International Clinical Diabetic "
        "Retinopathy (ICDR) severity scale",
        "source": {
            "label": "Wilkinson et al., Ophthalmology, 2003",
            # The DOI's parentheses percent-encoded, so that a Markdown link does not end early.
            "url": "https://doi.org/10.1016/S0161-6420%2803%2900475-5",
        },
        "meanings": [
            "no apparent retinopathy",
            "mild non-proliferative retinopathy",
            "moderate non-proliferative retinopathy",
            "severe non-proliferative retinopathy",
            "proliferative retinopathy",
        ],
    },
}

# MedMNIST flag -> who the source images come from, where a page can say it from the source's own
# description (DermaMNIST's is written in the model card's template with its leakage caveat).
POPULATIONS = {
    "retinamnist": {
        "text": "DeepDRiD's fundus photographs come from three diabetes screening projects in "
        "China (Nicheng, Shanghai, and a nationwide screening for complications of diabetes): "
        "people with diabetes attending screening",
        "source": {
            "label": "DeepDRiD's repository",
            "url": "https://github.com/deepdrdoc/DeepDRiD",
        },
    },
}

# Where the make-up of each source's images (several per lesion, four per patient) can be checked.
IMAGE_LISTS = {
    "dermamnist": {
        "label": "HAM10000's lesion IDs (Tschandl et al., 2018)",
        "url": "https://doi.org/10.1038/sdata.2018.161",
    },
    "retinamnist": {
        # One row per photograph (patient_id, image_id <patient>_l1/_l2/_r1/_r2, each eye's
        # grade), in the training and validation folders; pinned to the commit that was read.
        "label": "DeepDRiD's image lists",
        "url": "https://github.com/deepdrdoc/DeepDRiD/tree/"
        "70af809b87e6ad1c56b8d86462bfa5ae6966af42/regular_fundus_images",
    },
}

# MedMNIST flag -> how its validation split may share patients with training, from MedMNIST's own
# description of the split (medmnist.INFO[flag]["description"]) and the source data's make-up.
SPLIT_NOTES = {
    "retinamnist": "MedMNIST made RetinaMNIST's training and validation splits by dividing "
    "DeepDRiD's training set 9:1, and its test split from DeepDRiD's validation set (its own "
    "description, in medmnist.INFO). That description does not say whether the 9:1 division "
    "kept each patient's photographs together. DeepDRiD has four photographs of each patient, "
    "two of each eye, and both photographs of an eye carry its grade. If the division was by "
    "image, nearly every validation image has a photograph of the same eye in training, and "
    "validation scores, which choose epochs, thresholds and the recommended variant here, "
    "would read higher than scores on new patients.",
}

# MedMNIST flag -> why flips and 90-degree rotations (the augmentation and TTA, made for
# dermoscopy, which has no up or down) fit its images poorly.
ORIENTATION_NOTES = {
    "pneumoniamnist": "chest X-rays are read in one standard orientation, so a flipped or rotated "
    "one puts the heart on the wrong side or the lungs upside down, which real images rarely "
    "show",
}

# MedMNIST flag -> the classes a screening clinician would send on to a specialist (by their
# medmnist.INFO names, as catalog.class_names_of gives them), and why.
SCREENING_ENDPOINTS = {
    "dermamnist": {
        "name": "malignant or pre-malignant lesion",
        "referral": "sent for a closer look or a biopsy",
        "positives_noun": "images of malignant or pre-malignant lesions",
        "classes": [
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "melanoma",
        ],
        "why": "the three HAM10000 categories that are skin cancers or non-invasive early forms of "
        "one; the other four are benign",
        "caveat": "",
        "caveat_short": "",
        "not_independent": "HAM10000 has several images of some lesions",
        # What that does to an interval that treats every image as independent.
        "intervals_effect": "somewhat too narrow",
        "source": {
            "label": "Tschandl et al., Scientific Data, 2018",
            "url": "https://doi.org/10.1038/sdata.2018.161",
        },
    },
    "retinamnist": {
        "name": "referable retinopathy",
        "referral": "referred to an eye specialist",
        "positives_noun": "images graded referable",
        "classes": ["grade 2", "grade 3", "grade 4"],
        "why": "moderate non-proliferative retinopathy or worse, the usual threshold for referral "
        "in diabetic eye screening",
        "caveat": "Gulshan et al. also refer macular oedema, which RetinaMNIST does not label: an "
        "image of grade 0 or 1 with oedema counts here as not referable, so the sensitivity for "
        "referable disease as they define it is unknown, and likely lower than shown.",
        # The same, in one line, where a page links to the full caveat.
        "caveat_short": "RetinaMNIST does not label macular oedema, which Gulshan et al. also "
        "refer, so the sensitivity for referable disease as they define it is likely lower.",
        # From DeepDRiD's published image lists (patient_id, image_id <patient>_l1, _l2, _r1, _r2):
        # 400 images of 100 patients in the validation set that RetinaMNIST's test split comes from.
        "not_independent": "DeepDRiD has four photographs of each patient, two of each eye, and "
        "both photographs of an eye carry its grade",
        "intervals_effect": "too narrow, perhaps much: the test images come from about a quarter "
        "as many patients",
        "source": {
            "label": "Gulshan et al., JAMA, 2016",
            "url": "https://doi.org/10.1001/jama.2016.17216",
        },
    },
}
