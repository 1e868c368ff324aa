package apitest

import (
	"context"
	"testing"

	"github.com/pexia-network/pexia/api"
)

// TestStateEventsInOrder: with no connect delay the connect's end runs at
// once on another goroutine; the events must still leave in the order the
// states changed, or an app following them is left showing "connecting".
func TestStateEventsInOrder(t *testing.T) {
	b := NewBackend()
	defer b.Close()
	b.SetConnectDelay(0)
	ctx := context.Background()
	for i := range 300 {
		ch, cancel := b.Subscribe()
		if _, err := b.Connect(ctx, api.ConnectRequest{}); err != nil {
			t.Fatal(err)
		}
		var states []api.State
		for ev := range ch {
			if ev.Type == api.EventState {
				states = append(states, ev.State.State)
				if len(states) == 2 {
					break
				}
			}
		}
		cancel()
		if len(states) != 2 || states[0] != api.StateConnecting || states[1] != api.StateConnected {
			t.Fatalf("round %d: state events %v, want [connecting connected]", i, states)
		}
		if _, err := b.Disconnect(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
