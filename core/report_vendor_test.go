package core

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReportVendorFigure: the report carries the vendor library's latency, throughput and the
// ratio to the best (library over best: above 1 the tuned kernel wins) when there is one, and
// no vendor key when there is none (as on the CPU until issue 13).
func TestReportVendorFigure(t *testing.T) {
	st := newStats(8, 0, 2e9)
	st.BestS, st.VendorS, st.VendorLibrary = 1e-3, 2e-3, "cuBLAS"
	data, err := json.Marshal(newReport(st))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"vendor":{"library":"cuBLAS","latency_s":0.002,"gflops":1000,"ratio":2}`; !strings.Contains(string(data), want) {
		t.Errorf("report JSON %s, want %s", data, want)
	}
	st.VendorS, st.VendorLibrary = 0, ""
	data, _ = json.Marshal(newReport(st))
	if strings.Contains(string(data), `"vendor"`) {
		t.Errorf("report without a vendor figure has a vendor key: %s", data)
	}
}
