package echov5

import (
	"github.com/labstack/echo/v5"

	"github.com/echows/echows/websocket"
)

// Readiness returns the Echo v5 handler of s's readiness probe: 200
// "ready" while s is configured, its broker's subscriptions are live and
// its delivery probe is not overdue; 503 with the reason otherwise (see
// websocket.Server.Ready). Point Kubernetes' readinessProbe at it:
//
//	e.GET("/readyz", echov5.Readiness(s))
//
// Module mounts it itself at component.Config.ReadinessPath.
func Readiness(s *websocket.Server) echo.HandlerFunc {
	return echo.WrapHandler(s.ReadinessHandler())
}

// Liveness returns the Echo v5 handler of a liveness probe: 200 "alive"
// whenever the process answers, nothing else checked. Point Kubernetes'
// livenessProbe at it:
//
//	e.GET("/livez", echov5.Liveness())
//
// Module mounts it itself at component.Config.LivenessPath.
func Liveness() echo.HandlerFunc {
	return echo.WrapHandler(websocket.LivenessHandler())
}
