package ticket

import "errors"

// Errors a Receiver returns for tickets it refuses. Each names one cause so a
// node can log and count them separately; none of them is retryable as is.
var (
	// ErrBadSignature: the signature is malformed or was not made by the
	// signer the client announced (a forged ticket).
	ErrBadSignature = errors.New("ticket: bad signature")
	// ErrReplayed: the nonce is not above every nonce already accepted from this signer.
	ErrReplayed = errors.New("ticket: replayed")
	// ErrExpired: the ticket has expired or expires too soon to be claimed.
	ErrExpired = errors.New("ticket: expired")
	// ErrWrongRecipient: the ticket pays someone else, in another token, on
	// another lottery, or for a commitment this node never made.
	ErrWrongRecipient = errors.New("ticket: wrong recipient")
	// ErrUnderfunded: the funder's account cannot honour the face value.
	ErrUnderfunded = errors.New("ticket: underfunded")
	// ErrFaceTooLow: the face value is too small to be worth claiming.
	ErrFaceTooLow = errors.New("ticket: face value below minimum")
	// ErrFaceTooHigh: an Issuer refused to sign a face value its account
	// cannot honour.
	ErrFaceTooHigh = errors.New("ticket: face value above what the account can honour")
	// ErrChain: the funder's account could not be read at all.
	ErrChain = errors.New("ticket: account state unavailable")
)
