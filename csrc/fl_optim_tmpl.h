/* Body of fl_optim.c, included once per precision with FL_REAL, FL_SUFFIX, FL_SQRT set. */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)

void FL_FN(fl_sgd)(fl_index n, FL_REAL *FL_RESTRICT p, const FL_REAL *FL_RESTRICT g,
                    FL_REAL *FL_RESTRICT buf, double lr, double momentum, double weight_decay,
                    int nesterov)
{
    const FL_REAL r = (FL_REAL)lr, mu = (FL_REAL)momentum, wd = (FL_REAL)weight_decay;
    if (momentum == 0.0) {
        if (weight_decay == 0.0) for (fl_index k = 0; k < n; ++k) p[k] -= r * g[k];
        else for (fl_index k = 0; k < n; ++k) p[k] -= r * (g[k] + wd * p[k]);
    } else if (nesterov) {
        for (fl_index k = 0; k < n; ++k) {
            FL_REAL d = g[k] + wd * p[k];
            FL_REAL b = mu * buf[k] + d;
            buf[k] = b;
            p[k] -= r * (d + mu * b);
        }
    } else {
        for (fl_index k = 0; k < n; ++k) {
            FL_REAL b = mu * buf[k] + (g[k] + wd * p[k]);
            buf[k] = b;
            p[k] -= r * b;
        }
    }
}

void FL_FN(fl_adam)(fl_index n, FL_REAL *FL_RESTRICT p, const FL_REAL *FL_RESTRICT g,
                     FL_REAL *FL_RESTRICT m, FL_REAL *FL_RESTRICT v, double lr, double beta1,
                     double beta2, double eps, double weight_decay, int64_t step, int decoupled)
{
    const double bc1 = fl_adam_bias_correction(beta1, step);
    const double bc2 = fl_adam_bias_correction(beta2, step);
    const FL_REAL b1 = (FL_REAL)beta1, b2 = (FL_REAL)beta2;
    const FL_REAL c1 = (FL_REAL)(1.0 - beta1), c2 = (FL_REAL)(1.0 - beta2);
    const FL_REAL step_size = (FL_REAL)(lr / bc1), inv_bc2_sqrt = (FL_REAL)(1.0 / sqrt(bc2));
    const FL_REAL e = (FL_REAL)eps;
    const FL_REAL l2 = decoupled ? (FL_REAL)0 : (FL_REAL)weight_decay;
    const FL_REAL shrink = decoupled ? (FL_REAL)(1.0 - lr * weight_decay) : (FL_REAL)1;
    for (fl_index k = 0; k < n; ++k) {
        FL_REAL pk = p[k] * shrink;
        FL_REAL gk = g[k] + l2 * p[k];
        FL_REAL mk = b1 * m[k] + c1 * gk;
        FL_REAL vk = b2 * v[k] + c2 * gk * gk;
        m[k] = mk;
        v[k] = vk;
        p[k] = pk - step_size * mk / (FL_SQRT(vk) * inv_bc2_sqrt + e);
    }
}

void FL_FN(fl_rmsprop)(fl_index n, FL_REAL *FL_RESTRICT p, const FL_REAL *FL_RESTRICT g,
                        FL_REAL *FL_RESTRICT sq, FL_REAL *FL_RESTRICT buf,
                        FL_REAL *FL_RESTRICT gavg, double lr, double alpha, double eps,
                        double weight_decay, double momentum)
{
    const FL_REAL r = (FL_REAL)lr, a = (FL_REAL)alpha, c = (FL_REAL)(1.0 - alpha);
    const FL_REAL e = (FL_REAL)eps, wd = (FL_REAL)weight_decay, mu = (FL_REAL)momentum;
    for (fl_index k = 0; k < n; ++k) {
        const FL_REAL gk = g[k] + wd * p[k];
        const FL_REAL s = a * sq[k] + c * gk * gk;
        FL_REAL avg;
        sq[k] = s;
        if (gavg) {
            /* torch's lerp with weight 1 - alpha < 0.5: start + weight (end - start) */
            const FL_REAL ga = gavg[k] + c * (gk - gavg[k]);
            gavg[k] = ga;
            avg = FL_SQRT(s - ga * ga) + e;
        } else {
            avg = FL_SQRT(s) + e;
        }
        if (buf) {
            const FL_REAL b = mu * buf[k] + gk / avg;
            buf[k] = b;
            p[k] -= r * b;
        } else {
            p[k] -= r * (gk / avg);
        }
    }
}

void FL_FN(fl_adagrad)(fl_index n, FL_REAL *FL_RESTRICT p, const FL_REAL *FL_RESTRICT g,
                        FL_REAL *FL_RESTRICT sum, double lr, double lr_decay, double eps,
                        double weight_decay, int64_t step)
{
    const FL_REAL clr = (FL_REAL)(lr / (1.0 + (double)(step - 1) * lr_decay));
    const FL_REAL e = (FL_REAL)eps, wd = (FL_REAL)weight_decay;
    for (fl_index k = 0; k < n; ++k) {
        const FL_REAL gk = g[k] + wd * p[k];
        const FL_REAL s = sum[k] + gk * gk;
        sum[k] = s;
        p[k] -= clr * (gk / (FL_SQRT(s) + e));
    }
}

#undef FL_FN
