"""The codes shared by the C kernels, the Cython modules and Python, as IntEnums: Activation,
LossKind, OptimizerKind and PlanStatus (declared in _codes.pxd, which Cython modules cimport).

Examples
--------
>>> from fastlin._kernels._codes import Activation
>>> int(Activation.RELU)
3
"""
