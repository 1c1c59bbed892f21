package lifecycle

import (
	"github.com/labstack/echo/v4"

	"github.com/echows/echows/websocket"
)

// Readiness returns the Echo handler of s's readiness probe: 200 "ready"
// while s is configured, its broker's subscriptions are live and its
// delivery probe is not overdue; 503 with the reason otherwise (see
// websocket.Server.Ready). Point Kubernetes' readinessProbe (and a load
// balancer's health check) at it:
//
//	e.GET("/readyz", lifecycle.Readiness(s))
//
// The fx module mounts it itself at component.Config.ReadinessPath.
func Readiness(s *websocket.Server) echo.HandlerFunc {
	return echo.WrapHandler(s.ReadinessHandler())
}

// Liveness returns the Echo handler of a liveness probe: 200 "alive"
// whenever the process answers, and nothing else checked (a lost Redis is
// no reason to restart; readiness covers it). Point Kubernetes'
// livenessProbe at it:
//
//	e.GET("/livez", lifecycle.Liveness())
//
// The fx module mounts it itself at component.Config.LivenessPath.
func Liveness() echo.HandlerFunc {
	return echo.WrapHandler(websocket.LivenessHandler())
}
