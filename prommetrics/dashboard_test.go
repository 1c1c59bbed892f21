package prommetrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/echows/echows/websocket"
)

// dashboardFile is the Grafana dashboard of examples/grafana.
const dashboardFile = "../examples/grafana/echows-dashboard.json"

type grafanaPanel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// Every metric the dashboard queries exists on a live server's /metrics,
// and every panel queries something.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []grafanaPanel `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		exprs = append(exprs, v.Definition)
	}

	n := startNode(t, websocket.Config{})
	s := n.scrape()
	name := regexp.MustCompile(`echows_[a-z0-9_]+`)
	queried := map[string]bool{}
	for _, e := range exprs {
		for _, m := range name.FindAllString(e, -1) {
			family := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(m, suffix); ok && s[base] != nil && s[base].GetType().String() == "HISTOGRAM" {
					family = base
				}
			}
			queried[family] = true
			if s[family] == nil {
				t.Errorf("the dashboard queries %s (in %q), which /metrics does not export", m, e)
			}
		}
	}
	// The panels the issue asks for are there.
	for _, want := range []string{"echows_connections", "echows_deliveries_total", "echows_backpressure_drops_total",
		"echows_broker_subscriptions_live", "echows_probe_overdue", "echows_delivery_latency_seconds"} {
		if !queried[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
	if len(queried) < len(families)*2/3 {
		var missing []string
		for _, f := range families {
			if !queried[f] {
				missing = append(missing, f)
			}
		}
		slices.Sort(missing)
		t.Errorf("the dashboard shows %d of %d families; not shown: %v", len(queried), len(families), missing)
	}
}
