package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRuntimeAdminOnly: GET /v1/debug/runtime tells an admin the
// process's goroutines and heap, and refuses a member.
func TestRuntimeAdminOnly(t *testing.T) {
	s := NewServer(nil, ServerConfig{})
	for _, tc := range []struct {
		caller Caller
		status int
	}{
		{Caller{UID: 0, Access: AccessAdmin}, http.StatusOK},
		{Caller{UID: 1000, Access: AccessMember}, http.StatusForbidden},
		{Caller{}, http.StatusForbidden},
	} {
		r := httptest.NewRequest(http.MethodGet, "/v1/debug/runtime", nil)
		r = r.WithContext(WithCaller(context.Background(), tc.caller))
		w := httptest.NewRecorder()
		s.handleRuntime(w, r)
		if w.Code != tc.status {
			t.Fatalf("%+v: status %d, want %d: %s", tc.caller, w.Code, tc.status, w.Body)
		}
		if tc.status != http.StatusOK {
			var eb errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Code != "forbidden" {
				t.Fatalf("%+v: body %s (%v), want code forbidden", tc.caller, w.Body, err)
			}
			continue
		}
		var rt Runtime
		if err := json.Unmarshal(w.Body.Bytes(), &rt); err != nil {
			t.Fatal(err)
		}
		if rt.Goroutines < 1 || rt.HeapAlloc == 0 || rt.Sys < rt.HeapInuse {
			t.Fatalf("runtime %+v", rt)
		}
	}
}
