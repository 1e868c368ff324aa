// Package wallet owns money: keys in an encrypted keystore, the chain client,
// lottery accounts, issuing, verifying and redeeming tickets, the budget
// engine, and reads of the directory and registry for node selection.
package wallet
