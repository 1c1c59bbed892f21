package component

import (
	"reflect"
	"testing"

	"github.com/echows/echows/websocket"
)

// serverParams has one field per websocket.Hooks field, of the same name and
// type, and hooks maps each to its own: a hook added to websocket.Hooks
// without a field here fails this test.
func TestServerParamsCarryEveryHook(t *testing.T) {
	hooksType := reflect.TypeFor[websocket.Hooks]()
	paramsType := reflect.TypeFor[serverParams]()
	for i := range hooksType.NumField() {
		h := hooksType.Field(i)
		f, ok := paramsType.FieldByName(h.Name)
		if !ok || f.Type != h.Type || f.Tag.Get("optional") != "true" {
			t.Errorf("serverParams has no optional field %s %v", h.Name, h.Type)
			continue
		}
		var p serverParams
		reflect.ValueOf(&p).Elem().FieldByName(h.Name).Set(reflect.MakeFunc(h.Type, nil))
		got := reflect.ValueOf(p.hooks())
		for j := range hooksType.NumField() {
			if set := !got.Field(j).IsNil(); set != (j == i) {
				t.Errorf("serverParams.%s set: hooks().%s set = %v", h.Name, hooksType.Field(j).Name, set)
			}
		}
	}
}

func TestParseRedisURLAcceptsWhatWorks(t *testing.T) {
	for _, tc := range []struct{ url, addr string }{
		{"redis://127.0.0.1:6379/0", "127.0.0.1:6379"},
		{"rediss://user:pw@cache.internal:6380", "cache.internal:6380"},
		{"redis://[::1]:6379", "[::1]:6379"},
		{"unix:///run/redis.sock", "/run/redis.sock"},
	} {
		opts, err := parseRedisURL(tc.url)
		if err != nil || opts.Addr != tc.addr {
			t.Errorf("parseRedisURL(%q) = %v, %v; want Addr %s", tc.url, opts, err, tc.addr)
		}
	}
}
