# The integer codes that cross the C / Cython / Python boundary, each declared once. Cython
# modules cimport the members (compile-time C constants, as free as a literal); Python reads the
# same values as IntEnums from fastlin._kernels._codes, so no side can drift from the other.

cdef extern from "fl_common.h":
    # the C kernels switch on these; the values come from the header
    cpdef enum Activation "fl_activation":
        IDENTITY "FL_IDENTITY"
        SIGMOID "FL_SIGMOID"
        TANH "FL_TANH"
        RELU "FL_RELU"
        LEAKY_RELU "FL_LEAKY_RELU"
        PRELU "FL_PRELU"
        ABS "FL_ABS"

# The codes below never reach C: each loss and optimizer has its own C entry point, chosen by
# train.pyx, so the header has no use for them.

cpdef enum LossKind:
    XENT_LABELS = 0     # softmax cross-entropy against integer labels
    XENT_PROBS = 1      # softmax cross-entropy against a probability target
    BCE = 2             # sigmoid binary cross-entropy on logits
    MSE = 3
    SMOOTH_L1 = 4       # smooth L1 with its beta; L1 when beta is 0
    HUBER = 5           # Huber with its delta

cpdef enum OptimizerKind:
    SGD = 0             # momentum, Nesterov and weight decay included
    ADAM = 1            # AdamW when decoupled
    RMSPROP = 2         # momentum and centered when their buffers are given
    ADAGRAD = 3

# What TrainPlan.run returns besides k >= 0 (the index of the batch whose loss was not finite),
# so every status is negative.
cpdef enum PlanStatus:
    OK = -1
    BAD_LABEL = -2
    BAD_WEIGHT = -3
    NONFINITE_PARAMS = -4   # every loss was finite but the last update left a weight that is not
    NOT_FINITE = -5         # internal to a step: its loss was not finite (run returns the batch)
    NO_WEIGHT = -6          # internal to a step: the batch weighs zero in the loss's mean, no step
