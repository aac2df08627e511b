package scoring

import (
	"math"
	"strings"

	"colt/schedule"
)

// GPUHardware is what the analytic estimate knows about an NVIDIA GPU.
type GPUHardware struct {
	SMs        int     // streaming multiprocessors
	PeakGFLOPS float64 // FP32 peak; 0: SMs × 128 lanes × 2 × 1.7 GHz
	MemGBps    float64 // device memory bandwidth; 0: 1000
	SharedGBps float64 // shared memory bandwidth of the whole GPU; 0: SMs × 128 B × 1.7 GHz
}

// gpuClockHz is the clock the GPU estimate assumes for its defaults.
const gpuClockHz = 1.7e9

// threadsPerSM is how many resident threads keep one SM busy: enough warps to hide memory
// latency when each thread has a few independent operations in flight (a quarter of the
// 2048 an SM can hold).
const threadsPerSM = 512

// launchSeconds is the cost of starting one kernel.
const launchSeconds = 3e-6

func (g GPUHardware) withDefaults() GPUHardware {
	if g.SMs <= 0 {
		g.SMs = 80
	}
	if g.PeakGFLOPS <= 0 {
		g.PeakGFLOPS = float64(g.SMs) * 128 * 2 * gpuClockHz / 1e9
	}
	if g.MemGBps <= 0 {
		g.MemGBps = 1000
	}
	if g.SharedGBps <= 0 {
		g.SharedGBps = float64(g.SMs) * 128 * gpuClockHz / 1e9
	}
	return g
}

// estimateGPU is the analytic estimate of a GPU program, a roofline per store: its
// executions (the product of its loops' extents, counting a thread loop nested in one of the
// same axis once, since it is the same thread), their floating-point work at the GPU's peak,
// the bytes they move to and from device memory and shared memory (registers are free; each
// distinct element a store reads or writes counts once per execution), each at its bandwidth,
// the slowest of the three divided by how well the kernel fills the GPU: the share of each warp
// its threads use, and of the GPU's resident threads its grid provides. Each kernel (a
// blockIdx loop at the root) adds a launch.
func estimateGPU(pn *programNests, gpu GPUHardware) float64 {
	gpu = gpu.withDefaults()
	total := 0.0
	kernels := map[*schedule.Loop]bool{}
	for _, sn := range pn.stores {
		execs, blocks, threads := 1.0, 1.0, 1.0
		seen := map[string]bool{}
		for _, l := range sn.loops {
			ext := float64(l.extent)
			switch {
			case l.kind == schedule.ThreadBound && strings.HasPrefix(l.thread, "blockIdx"):
				blocks *= ext
				kernels[l.loop] = true
			case l.kind == schedule.ThreadBound && strings.HasPrefix(l.thread, "threadIdx"):
				if seen[l.thread] {
					continue // the same threads as the enclosing loop of this axis
				}
				seen[l.thread] = true
				threads *= ext
			}
			execs *= ext
		}
		var global, shared float64
		for _, a := range sn.accs {
			if a.buf == nil {
				continue
			}
			n := float64(len(a.readTuples))
			if a.write {
				n++
			}
			bytes := n * float64(max(a.buf.DType.Bytes(), 1)) * execs
			switch a.buf.Scope {
			case schedule.Shared:
				shared += bytes
			case schedule.Local:
			default:
				global += bytes
			}
		}
		flops := sn.ops.flops() * execs
		t := max(flops/(gpu.PeakGFLOPS*1e9), global/(gpu.MemGBps*1e9), shared/(gpu.SharedGBps*1e9))
		warp := threads / (math.Ceil(threads/32) * 32)
		fill := min(1, blocks*threads/float64(gpu.SMs*threadsPerSM))
		total += t / max(warp*fill, 1e-6)
	}
	return total + float64(max(len(kernels), 1))*launchSeconds
}
