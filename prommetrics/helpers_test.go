package prommetrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/echows/echows/prommetrics"
	"github.com/echows/echows/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait for a condition; it guards against a hung
// test and is never an assertion about speed.
const waitTimeout = 20 * time.Second

// testAuth accepts {"token": "<user>"}; "reject" rejects, "error" fails.
func testAuth(_ context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
	var creds struct{ Token string }
	_ = json.Unmarshal(req.Data, &creds)
	switch creds.Token {
	case "", "reject":
		return nil, websocket.ErrRejected
	case "error":
		return nil, errors.New("user store down")
	}
	return &websocket.Identity{UserID: creds.Token}, nil
}

func allowRooms(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
	return rooms, nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// node is a real echows server behind a real HTTP server, with its metrics
// registered on a registry of its own and served at /metrics by promhttp,
// and its readiness and liveness handlers at /readyz and /livez.
type node struct {
	t    *testing.T
	srv  *websocket.Server
	base string // http://127.0.0.1:port
	ws   string // ws://127.0.0.1:port/ws
}

// startNode builds, configures and serves a server for cfg (testAuth when
// it has no Authenticate hook); it stops when the test ends.
func startNode(t *testing.T, cfg websocket.Config) *node {
	t.Helper()
	if cfg.Authenticate == nil {
		cfg.Authenticate = testAuth
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv, err := websocket.New(cfg)
	if err != nil {
		t.Fatalf("websocket.New: %v", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prommetrics.NewCollector(srv))
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	mux.Handle("/readyz", srv.ReadinessHandler())
	mux.Handle("/livez", websocket.LivenessHandler())
	hs := httptest.NewServer(mux)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.Configure(ctx); err != nil {
		hs.Close()
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, websocket.ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &node{t: t, srv: srv, base: hs.URL, ws: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"}
}

// get returns the status and body of GET path.
func (n *node) get(path string) (int, string) {
	n.t.Helper()
	resp, err := http.Get(n.base + path)
	if err != nil {
		n.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// scrape is one scrape of /metrics, by family name.
type scrape map[string]*dto.MetricFamily

// scrape GETs /metrics over HTTP and parses the text exposition format.
func (n *node) scrape() scrape {
	n.t.Helper()
	status, body := n.get("/metrics")
	if status != http.StatusOK {
		n.t.Fatalf("GET /metrics: %d %s", status, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		n.t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return families
}

// value returns the value of the series of family name with the given
// label pairs ("code", "4003"): a counter's or gauge's value, a
// histogram's sample count. It fails the test when there is no such series.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.lookup(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v in the scrape", name, labels)
	}
	return v
}

func (s scrape) lookup(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// series returns every series of the scrape, as "name{labels}", sorted.
func (s scrape) series() []string {
	var out []string
	for name, f := range s {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out = append(out, name+"{"+strings.Join(ls, ",")+"}")
		}
	}
	sort.Strings(out)
	return out
}

// waitMetric waits until the series' value satisfies cond, scraping over
// HTTP, and returns the last scrape.
func (n *node) waitMetric(what, name string, cond func(float64) bool, labels ...string) scrape {
	n.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := n.scrape()
		if v, ok := s.lookup(name, labels...); ok && cond(v) {
			return s
		}
		if time.Now().After(deadline) {
			v, _ := s.lookup(name, labels...)
			n.t.Fatalf("timed out waiting for %s: %s%v is %v", what, name, labels, v)
		}
		time.Sleep(10 * time.Millisecond) // the interval of a bounded poll
	}
}

// waitStatus waits until GET path answers status.
func (n *node) waitStatus(what, path string, status int) string {
	n.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		got, body := n.get(path)
		if got == status {
			return body
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("timed out waiting for %s: GET %s answers %d %q", what, path, got, body)
		}
		time.Sleep(10 * time.Millisecond) // the interval of a bounded poll
	}
}

func equals(want float64) func(float64) bool  { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }
