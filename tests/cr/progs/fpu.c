/*
 * fpu.c - FPU/SSE/AVX/AVX-512 state survives checkpoint/restore.
 *
 * The "regs" thread loads known values into every vector register (zmm0-31
 * and k1-k7 with AVX-512F, else ymm0-15 with AVX, else xmm0-15), eight x87
 * registers, a non-default MXCSR and x87 control word, then spins in asm:
 * each iteration adds the last vector register to the first and counts.
 * When the check starts, it stores everything: the first register must equal
 * its start value plus count times the increment (per 64-bit lane), all the
 * others their start values.  Three more threads keep a double, a long double
 * (x87) and a float-with-FE_UPWARD accumulator advancing in small bursts; at
 * each check the value is compared bit for bit with a recomputation from the
 * last verified point, and the rounding mode must still be FE_UPWARD.
 */
#include <fenv.h>
#include <math.h>
#include <stdatomic.h>

#include "check.h"

#define NREG 32
static _Alignas(64) uint8_t reg_in[NREG * 64 + 8 * 8 + 8 * 16 + 16];
static _Alignas(64) uint8_t reg_out[sizeof(reg_in)];
#define K_OFF   (NREG * 64)             /* 8 opmask slots (k0 unused) */
#define ST_OFF  (K_OFF + 64)            /* 8 x87 values, 16 bytes apart */
#define CSR_OFF (ST_OFF + 128)          /* mxcsr (4), fcw (2) */

static volatile int spin_stop, armed;
static atomic_int gen = -1, acks;
static int level;       /* 3: avx512f, 2: avx, 1: sse */

#define X87_IN \
	".irp i,0,1,2,3,4,5,6,7\n fldt " "%c[st]+\\i*16(%[in])\n .endr\n" \
	"ldmxcsr %c[csr](%[in])\n fldcw %c[csr]+4(%[in])\n"
#define X87_OUT \
	"stmxcsr %c[csr](%[out])\n fnstcw %c[csr]+4(%[out])\n" \
	".irp i,7,6,5,4,3,2,1,0\n fstpt %c[st]+\\i*16(%[out])\n .endr\n"
#define SPIN(add) \
	"1: " add "\n inc %[cnt]\n pause\n cmpl $0, (%[flag])\n je 1b\n"
#define OPS [cnt] "+r"(cnt) : [in] "r"(reg_in), [out] "r"(reg_out), \
	[flag] "r"(&spin_stop), [st] "i"(ST_OFF), [csr] "i"(CSR_OFF)

__attribute__((target("avx512f"), noinline))
static uint64_t spin_avx512(void)
{
	uint64_t cnt = 0;

	__asm__ volatile(
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
		" vmovdqu64 \\i*64(%[in]), %%zmm\\i\n .endr\n"
		".irp i,1,2,3,4,5,6,7\n kmovq %c[k]+\\i*8(%[in]), %%k\\i\n .endr\n"
		X87_IN
		SPIN("vpaddq %%zmm31, %%zmm0, %%zmm0")
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
		" vmovdqu64 %%zmm\\i, \\i*64(%[out])\n .endr\n"
		".irp i,1,2,3,4,5,6,7\n kmovq %%k\\i, %c[k]+\\i*8(%[out])\n .endr\n"
		X87_OUT
		"vzeroupper\n"
		: OPS, [k] "i"(K_OFF)
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		  "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
		  "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
		  "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
	return cnt;
}

__attribute__((target("avx"), noinline))
static uint64_t spin_avx(void)
{
	uint64_t cnt = 0;

	__asm__ volatile(
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
		" vmovdqu \\i*64(%[in]), %%ymm\\i\n .endr\n"
		X87_IN
		SPIN("vpaddq %%ymm15, %%ymm0, %%ymm0")
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
		" vmovdqu %%ymm\\i, \\i*64(%[out])\n .endr\n"
		X87_OUT
		"vzeroupper\n"
		: OPS
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		  "xmm15");
	return cnt;
}

__attribute__((noinline))
static uint64_t spin_sse(void)
{
	uint64_t cnt = 0;

	__asm__ volatile(
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
		" movdqu \\i*64(%[in]), %%xmm\\i\n .endr\n"
		X87_IN
		SPIN("paddq %%xmm15, %%xmm0")
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
		" movdqu %%xmm\\i, \\i*64(%[out])\n .endr\n"
		X87_OUT
		: OPS
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
		  "xmm15");
	return cnt;
}

static void regs_check(uint64_t cnt)
{
	int nreg = level == 3 ? 32 : 16, width = level == 3 ? 64 : level == 2 ? 32 : 16;
	int inc = nreg - 1;
	const char *rn = level == 3 ? "zmm" : level == 2 ? "ymm" : "xmm";

	for (int r = 0; r < nreg; r++)
		for (int b = 0; b < width; b += 8) {
			uint64_t in, out, inc_v;

			memcpy(&in, reg_in + r * 64 + b, 8);
			memcpy(&out, reg_out + r * 64 + b, 8);
			memcpy(&inc_v, reg_in + inc * 64 + b, 8);
			if (r == 0)
				in += cnt * inc_v;
			if (in != out) {
				ck_fail("%s%d lane %d: 0x%llx, want 0x%llx (after %llu spins)", rn, r,
					b / 8, (unsigned long long)out, (unsigned long long)in,
					(unsigned long long)cnt);
				return;
			}
		}
	if (level == 3 && memcmp(reg_in + K_OFF + 8, reg_out + K_OFF + 8, 56))
		ck_fail("opmask registers k1-k7 changed");
	for (int i = 0; i < 8; i++)
		CK(!memcmp(reg_in + ST_OFF + i * 16, reg_out + ST_OFF + i * 16, 10),
		   "x87 register st(%d) changed", 7 - i);
	uint32_t csr_in, csr_out;
	uint16_t cw_in, cw_out;
	memcpy(&csr_in, reg_in + CSR_OFF, 4);
	memcpy(&csr_out, reg_out + CSR_OFF, 4);
	memcpy(&cw_in, reg_in + CSR_OFF + 4, 2);
	memcpy(&cw_out, reg_out + CSR_OFF + 4, 2);
	CK((csr_out & ~0x3fu) == csr_in, "MXCSR 0x%x, want 0x%x", csr_out, csr_in);
	CK(cw_out == cw_in, "x87 control word 0x%x, want 0x%x", cw_out, cw_in);
}

static void *regs_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t cnt;

		armed = 1;
		cnt = level == 3 ? spin_avx512() : level == 2 ? spin_avx() : spin_sse();
		armed = 0;
		regs_check(cnt);
		spin_stop = 0;
		atomic_fetch_add(&acks, 1);
		while (atomic_load(&acks) != 0)      /* main re-arms */
			ck_sleep_us(500);
	}
	return NULL;
}

/* Accumulators: kind 0 double, 1 long double, 2 float rounding upward. */
struct acc { int kind; long i, i_ok; double d, d_ok; long double ld, ld_ok; float f, f_ok; };
static struct acc accs[3] = { { .kind = 0 }, { .kind = 1 }, { .kind = 2 } };

static void acc_run(struct acc *a, long upto, int commit)
{
	for (; a->i < upto; a->i++) {
		if (a->kind == 0)
			a->d = ck_fp_step(a->d, a->i);
		else if (a->kind == 1)
			a->ld = a->ld * 0.999999L + sqrtl((long double)a->i) / 1e3L;
		else
			a->f = a->f * 0.9999f + 1.0f / (float)(a->i + 7);
	}
	if (commit) {
		a->i_ok = a->i;
		a->d_ok = a->d;
		a->ld_ok = a->ld;
		a->f_ok = a->f;
	}
}

static void *acc_main(void *arg)
{
	struct acc *a = arg;
	int seen = -1;

	if (a->kind == 2)
		fesetround(FE_UPWARD);
	for (;;) {
		acc_run(a, a->i + 2000, 0);
		ck_sleep_us(1000);
		if (atomic_load(&gen) == seen)
			continue;
		seen = atomic_load(&gen);
		/* Recompute from the last verified point, compare bits. */
		struct acc r = *a;
		r.i = a->i_ok;
		r.d = a->d_ok;
		r.ld = a->ld_ok;
		r.f = a->f_ok;
		acc_run(&r, a->i, 0);
		CK(memcmp(&r.d, &a->d, sizeof(r.d)) == 0, "double accumulator %.17g, recomputed %.17g",
		   a->d, r.d);
		CK(memcmp(&r.ld, &a->ld, 10) == 0, "long double accumulator %.20Lg, recomputed %.20Lg",
		   a->ld, r.ld);
		CK(memcmp(&r.f, &a->f, sizeof(r.f)) == 0, "float accumulator %.9g, recomputed %.9g",
		   (double)a->f, (double)r.f);
		if (a->kind == 2)
			CK(fegetround() == FE_UPWARD, "rounding mode 0x%x, want FE_UPWARD", fegetround());
		acc_run(a, a->i, 1);
		atomic_fetch_add(&acks, 1);
	}
	return NULL;
}

static void fill_regs(void)
{
	ck_fill(reg_in, NREG * 64, 0x5eed);
	for (int i = 0; i < 8; i++) {
		long double v = (long double)(i + 1) * 3.14159265358979323846L / 7.0L;

		memcpy(reg_in + ST_OFF + i * 16, &v, 10);
		memcpy(reg_in + K_OFF + i * 8, &(uint64_t){ 0x0123456789abcdefull * (uint64_t)(i + 1) }, 8);
	}
	uint32_t csr = 0x1f80 | (1u << 13) | (1u << 15);   /* round down, FTZ */
	uint16_t cw = 0x037f & ~0x0300u;                       /* single precision */
	cw |= 0x0c00;                                          /* round toward zero */
	memcpy(reg_in + CSR_OFF, &csr, 4);
	memcpy(reg_in + CSR_OFF + 4, &cw, 2);
}

int main(int argc, char **argv)
{
	pthread_t t;

	ck_init(argc, argv);
	level = 1;
	if (__builtin_cpu_supports("avx"))
		level = 2;
	if (__builtin_cpu_supports("avx512f"))
		level = 3;
	fill_regs();
	if (pthread_create(&t, NULL, regs_main, NULL))
		ck_die("pthread_create");
	for (int i = 0; i < 3; i++)
		if (pthread_create(&t, NULL, acc_main, &accs[i]))
			ck_die("pthread_create");
	ck_sleep_us(50000);
	ck_say("# register level %s", level == 3 ? "avx512f" : level == 2 ? "avx" : "sse");
	ck_ready();
	for (int n = 0;; n++) {
		double end;

		ck_wait_go(n);
		atomic_store(&acks, 0);
		atomic_store(&gen, n);
		spin_stop = 1;
		ck_wait_acks(&acks, 4, "threads");
		end = ck_now() + 5;
		atomic_store(&acks, 0);  /* lets the regs thread spin again */
		while (!armed && ck_now() < end)
			ck_sleep_us(1000);
		ck_sleep_us(10000);
		ck_report(n);
	}
}
