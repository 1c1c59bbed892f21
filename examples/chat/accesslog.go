package main

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// accessLog logs one line per HTTP request at info: method, URI, status,
// latency and remote address. A WebSocket upgrade is logged when its
// handler returns, right after the upgrade, with status 101 (the
// connection's end is in the WebSocket server's debug log).
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod:   true,
		LogURI:      true,
		LogStatus:   true,
		LogLatency:  true,
		LogRemoteIP: true,
		LogError:    true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			status := v.Status
			if !c.Response().Committed && strings.EqualFold(c.Request().Header.Get("Upgrade"), "websocket") {
				status = http.StatusSwitchingProtocols // written on the hijacked connection
			}
			attrs := []any{"method", v.Method, "uri", v.URI, "status", status, "latency", v.Latency, "remote", v.RemoteIP}
			if v.Error != nil {
				attrs = append(attrs, "err", v.Error)
			}
			log.Info("http", attrs...)
			return nil
		},
	})
}
