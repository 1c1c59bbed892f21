package component_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/prommetrics"
	"github.com/echows/echows/websocket"
)

// provideRegistry provides reg as the app's prometheus.Registerer (and
// Gatherer), the way an app that exposes /metrics does.
func provideRegistry(reg *prometheus.Registry) fx.Option {
	return fx.Provide(fx.Annotate(func() *prometheus.Registry { return reg },
		fx.As(new(prometheus.Registerer)), fx.As(new(prometheus.Gatherer))))
}

// serveMetrics mounts /metrics on the app's Echo with its own registry.
var serveMetrics = fx.Invoke(func(e *echo.Echo, g prometheus.Gatherer) {
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{})))
})

func (a *testApp) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + a.echo.ListenerAddr().String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func echowsFamilies(t *testing.T, g prometheus.Gatherer) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), prommetrics.Namespace+"_") {
			n++
		}
	}
	return n
}

// An app that provides a prometheus.Registerer gets echows' metrics on it,
// served by its own /metrics; they leave the registry when the app stops.
func TestMetricsOnTheAppsRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := startApp(t, component.Config{}, provideRegistry(reg), serveMetrics)
	c := a.dial(t)
	c.Authenticate("alice")
	status, body := a.get(t, "/metrics")
	if status != http.StatusOK || !strings.Contains(body, "echows_connects_total 1\n") ||
		!strings.Contains(body, `echows_connections{state="authenticated"} 1`) {
		t.Fatalf("GET /metrics: %d\n%s", status, body)
	}
	a.RequireStop()
	if n := echowsFamilies(t, reg); n != 0 {
		t.Fatalf("%d echows families left on the registry after stop", n)
	}
}

// Without a Registerer in the graph nothing is registered anywhere, the
// global registry included.
func TestNoRegistererNoMetrics(t *testing.T) {
	before := echowsFamilies(t, prometheus.DefaultGatherer)
	a := startApp(t, component.Config{})
	a.dial(t).Authenticate("bob")
	if n := echowsFamilies(t, prometheus.DefaultGatherer); n != before || n != 0 {
		t.Fatalf("%d echows families on the global registry", n)
	}
}

// A registry that has echows' metrics already (a second module, say) fails
// fx.New with the registry's error.
func TestMetricsAlreadyRegisteredFailsNew(t *testing.T) {
	reg := prometheus.NewRegistry()
	other, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: testAuth}})
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(prommetrics.NewCollector(other))
	a := fx.New(fx.NopLogger, component.Core, provideAuth(testAuth), fx.Supply(quietLogger()), provideRegistry(reg),
		fx.Invoke(func(*websocket.Server) {}))
	var are prometheus.AlreadyRegisteredError
	if err := a.Err(); !errors.As(err, &are) {
		t.Fatalf("fx.New: %v, want an AlreadyRegisteredError", err)
	}
}

func TestHealthPathsAreMounted(t *testing.T) {
	a := startApp(t, component.Config{ReadinessPath: "/readyz", LivenessPath: "/livez"})
	if status, body := a.get(t, "/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Fatalf("GET /readyz: %d %q", status, body)
	}
	if status, body := a.get(t, "/livez"); status != http.StatusOK || body != "alive\n" {
		t.Fatalf("GET /livez: %d %q", status, body)
	}
	if err := a.server.Shutdown(boundedCtx(t)); err != nil { // readiness fails from now on
		t.Fatal(err)
	}
	if status, body := a.get(t, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("GET /readyz after Shutdown: %d %q", status, body)
	}
}

func TestHealthPathsOffByDefault(t *testing.T) {
	a := startApp(t, component.Config{})
	for _, p := range []string{"/readyz", "/livez", "/healthz"} {
		if status, _ := a.get(t, p); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, status)
		}
	}
}

func TestBadHealthPathsFailNew(t *testing.T) {
	for _, cfg := range []component.Config{
		{ReadinessPath: "readyz"},
		{LivenessPath: "/ws"},
		{ReadinessPath: "/health", LivenessPath: "/health"},
	} {
		a := fx.New(fx.NopLogger, component.Core, provideAuth(testAuth), fx.Supply(cfg), fx.Invoke(func(*websocket.Server) {}))
		if err := a.Err(); !errors.Is(err, websocket.ErrInvalidConfig) {
			t.Errorf("%+v: fx.New: %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
