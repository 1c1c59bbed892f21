package component

import (
	"reflect"
	"testing"
	"time"

	"github.com/echows/echows/websocket"
)

// TestConfigMirrorsWebSocketConfig keeps Config in step with
// websocket.Config: every setting of the server (not its hooks, broker or
// logger) must exist here with the same type, and WebSocketConfig must copy
// it. A field added to websocket.Config and forgotten here fails this test.
func TestConfigMirrorsWebSocketConfig(t *testing.T) {
	var cfg Config
	cv := reflect.ValueOf(&cfg).Elem()
	wt := reflect.TypeOf(websocket.Config{})
	var settings []string
	for i := range wt.NumField() {
		f := wt.Field(i)
		switch f.Type.Kind() {
		case reflect.Func, reflect.Interface, reflect.Pointer:
			continue // hooks, Broker, Logger: they come from the fx graph
		}
		mine, ok := cv.Type().FieldByName(f.Name)
		if !ok || mine.Type != f.Type {
			t.Errorf("component.Config lacks %s %s", f.Name, f.Type)
			continue
		}
		settings = append(settings, f.Name)
		// a non-zero value, distinct per field
		v := cv.FieldByName(f.Name)
		switch v.Kind() {
		case reflect.String:
			v.SetString("/x-" + f.Name)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			if f.Type == reflect.TypeOf(time.Duration(0)) {
				v.SetInt(int64(time.Duration(i+1) * time.Second))
			} else {
				v.SetInt(int64(i + 1))
			}
		case reflect.Slice:
			v.Set(reflect.ValueOf([]string{f.Name}))
		default:
			t.Fatalf("no test value for %s %s", f.Name, f.Type)
		}
	}
	out := reflect.ValueOf(cfg.WebSocketConfig(Hooks{}))
	for _, name := range settings {
		if got, want := out.FieldByName(name).Interface(), cv.FieldByName(name).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("WebSocketConfig does not copy %s: got %v, want %v", name, got, want)
		}
	}
}
