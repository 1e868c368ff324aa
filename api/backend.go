package api

import "context"

// Backend is what the daemon implements for the Server. Every method may
// be called concurrently from many requests. Errors should wrap one of the
// sentinels in errors.go to choose the HTTP status (anything else is a 500),
// and their text is shown to the user as is, so it should say what went
// wrong and, where it can, what to do.
//
// Every request's ctx carries its Caller (CallerFrom): the Backend enforces
// the privilege model of the package doc with it. The Server checks the
// settings fields and the budget limit too (CheckChange, CheckBudget), but
// only the Backend can do it atomically with the change.
type Backend interface {
	// Status returns the current state.
	Status(ctx context.Context) (Status, error)
	// Connect starts bringing the tunnel up with req's overrides of the
	// settings, and returns without waiting for the circuit (the state is
	// then usually connecting; clients follow the event stream). The
	// Server has already checked req.Validate. Connecting while connected
	// with a different request rebuilds the circuit.
	Connect(ctx context.Context, req ConnectRequest) (Status, error)
	// Disconnect takes the tunnel down and returns the resulting state.
	Disconnect(ctx context.Context) (Status, error)
	// Circuit returns the circuit in use, or ErrNotConnected.
	Circuit(ctx context.Context) (Circuit, error)
	// Settings returns the current settings.
	Settings(ctx context.Context) (Settings, error)
	// SetSettings replaces the settings (the read-only fields are to be
	// ignored), persists them and returns what is now in effect. The
	// Server has already checked s.Validate. A member's change of an
	// admin-only field must fail with ErrForbidden (CheckChange).
	SetSettings(ctx context.Context, s Settings) (Settings, error)
	// Budget returns the current budget period's state.
	Budget(ctx context.Context) (Budget, error)
	// SetBudget changes the monthly budget and returns the new state; a
	// member may not exceed the admin's limit (CheckBudget).
	SetBudget(ctx context.Context, monthly Amount) (Budget, error)
	// Wallet returns the funder's accounts.
	Wallet(ctx context.Context) (Wallet, error)
	// Subscribe returns a channel of events from now on and a func that
	// ends the subscription; the Server calls cancel exactly once, when
	// the stream ends, and reads the channel promptly until then. The
	// backend must not block indefinitely on a send (Feed never does) and
	// may close the channel to end the stream.
	Subscribe() (events <-chan Event, cancel func())
}
