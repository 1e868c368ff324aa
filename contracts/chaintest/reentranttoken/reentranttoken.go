// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package reentranttoken

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// ReentrantTokenMetaData contains all meta data concerning the ReentrantToken contract.
var ReentrantTokenMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"bytes\",\"name\":\"reason\",\"type\":\"bytes\"}],\"name\":\"ExecFailed\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Insufficient\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"NotOwner\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"Approval\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"from\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"value\",\"type\":\"uint256\"}],\"name\":\"Transfer\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"name\":\"allowance\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"spender\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"approve\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"target\",\"type\":\"address\"},{\"internalType\":\"bytes\",\"name\":\"data\",\"type\":\"bytes\"}],\"name\":\"arm\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"name\":\"balanceOf\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"target\",\"type\":\"address\"},{\"internalType\":\"bytes\",\"name\":\"data\",\"type\":\"bytes\"}],\"name\":\"exec\",\"outputs\":[{\"internalType\":\"bytes\",\"name\":\"\",\"type\":\"bytes\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"hookError\",\"outputs\":[{\"internalType\":\"bytes\",\"name\":\"\",\"type\":\"bytes\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"hookOK\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"mint\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"totalSupply\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"transfer\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"from\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"to\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"transferFrom\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "ReentrantToken",
	Bin: "0x60a0604052348015600e575f5ffd5b5033608052608051610f3d6100405f395f8181610170015281816103a501528181610475015261063c0152610f3d5ff3fe608060405234801561000f575f5ffd5b50600436106100cf575f3560e01c80638da5cb5b1161007d578063be6002c211610058578063be6002c2146101df578063dd62ed3e146101f2578063f87a70941461021c575f5ffd5b80638da5cb5b1461016b5780639a72d3d0146101b7578063a9059cbb146101cc575f5ffd5b80633522bfd0116100ad5780633522bfd01461012457806340c10f191461013957806370a082311461014c575f5ffd5b8063095ea7b3146100d357806318160ddd146100fb57806323b872dd14610111575b5f5ffd5b6100e66100e136600461098f565b610229565b60405190151581526020015b60405180910390f35b6101035f5481565b6040519081526020016100f2565b6100e661011f3660046109b7565b6102a2565b6101376101323660046109f1565b61038d565b005b61013761014736600461098f565b61045d565b61010361015a366004610a6f565b60016020525f908152604090205481565b6101927f000000000000000000000000000000000000000000000000000000000000000081565b60405173ffffffffffffffffffffffffffffffffffffffff90911681526020016100f2565b6101bf610579565b6040516100f29190610a8f565b6100e66101da36600461098f565b610605565b6101bf6101ed3660046109f1565b610622565b610103610200366004610ae2565b600260209081525f928352604080842090915290825290205481565b6005546100e69060ff1681565b335f81815260026020908152604080832073ffffffffffffffffffffffffffffffffffffffff8716808552925280832085905551919290917f8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925906102909086815260200190565b60405180910390a35060015b92915050565b5f6102ab610758565b73ffffffffffffffffffffffffffffffffffffffff84165f9081526002602090815260408083203384529091529020547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8114610377578281101561033c576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6103468382610b40565b73ffffffffffffffffffffffffffffffffffffffff86165f9081526002602090815260408083203384529091529020555b610382858585610848565b506001949350505050565b3373ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016148015906103d35750333014155b1561040a576040517f30cd747100000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b600380547fffffffffffffffffffffffff00000000000000000000000000000000000000001673ffffffffffffffffffffffffffffffffffffffff85161790556004610457828483610c28565b50505050565b3373ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016148015906104a35750333014155b156104da576040517f30cd747100000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b805f5f8282546104ea9190610d3f565b909155505073ffffffffffffffffffffffffffffffffffffffff82165f9081526001602052604081208054839290610523908490610d3f565b909155505060405181815273ffffffffffffffffffffffffffffffffffffffff8316905f907fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef9060200160405180910390a35050565b6006805461058690610b80565b80601f01602080910402602001604051908101604052809291908181526020018280546105b290610b80565b80156105fd5780601f106105d4576101008083540402835291602001916105fd565b820191905f5260205f20905b8154815290600101906020018083116105e057829003601f168201915b505050505081565b5f61060e610758565b610619338484610848565b50600192915050565b60603373ffffffffffffffffffffffffffffffffffffffff7f0000000000000000000000000000000000000000000000000000000000000000161480159061066a5750333014155b156106a1576040517f30cd747100000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f5f8573ffffffffffffffffffffffffffffffffffffffff1685856040516106ca929190610d52565b5f604051808303815f865af19150503d805f8114610703576040519150601f19603f3d011682016040523d82523d5f602084013e610708565b606091505b50915091508161074f57806040517f1cbc47b50000000000000000000000000000000000000000000000000000000081526004016107469190610a8f565b60405180910390fd5b95945050505050565b60035473ffffffffffffffffffffffffffffffffffffffff16806107795750565b600380547fffffffffffffffffffffffff00000000000000000000000000000000000000001690556040515f90819073ffffffffffffffffffffffffffffffffffffffff8416906107cc90600490610d61565b5f604051808303815f865af19150503d805f8114610805576040519150601f19603f3d011682016040523d82523d5f602084013e61080a565b606091505b50600580547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0016831515179055909250905060066104578282610df0565b73ffffffffffffffffffffffffffffffffffffffff83165f90815260016020526040902054818110156108a7576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6108b18282610b40565b73ffffffffffffffffffffffffffffffffffffffff8086165f9081526001602052604080822093909355908516815290812080548492906108f3908490610d3f565b925050819055508273ffffffffffffffffffffffffffffffffffffffff168473ffffffffffffffffffffffffffffffffffffffff167fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef8460405161095991815260200190565b60405180910390a350505050565b803573ffffffffffffffffffffffffffffffffffffffff8116811461098a575f5ffd5b919050565b5f5f604083850312156109a0575f5ffd5b6109a983610967565b946020939093013593505050565b5f5f5f606084860312156109c9575f5ffd5b6109d284610967565b92506109e060208501610967565b929592945050506040919091013590565b5f5f5f60408486031215610a03575f5ffd5b610a0c84610967565b9250602084013567ffffffffffffffff811115610a27575f5ffd5b8401601f81018613610a37575f5ffd5b803567ffffffffffffffff811115610a4d575f5ffd5b866020828401011115610a5e575f5ffd5b939660209190910195509293505050565b5f60208284031215610a7f575f5ffd5b610a8882610967565b9392505050565b602081525f82518060208401528060208501604085015e5f6040828501015260407fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f83011684010191505092915050565b5f5f60408385031215610af3575f5ffd5b610afc83610967565b9150610b0a60208401610967565b90509250929050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b8181038181111561029c5761029c610b13565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b600181811c90821680610b9457607f821691505b602082108103610bcb577f4e487b71000000000000000000000000000000000000000000000000000000005f52602260045260245ffd5b50919050565b601f821115610c235782821115610c2357805f5260205f20601f840160051c6020851015610bfc57505f5b90810190601f840160051c035f5b81811015610c1f575f83820155600101610c0a565b5050505b505050565b67ffffffffffffffff831115610c4057610c40610b53565b610c5483610c4e8354610b80565b83610bd1565b5f601f841160018114610ca4575f8515610c6e5750838201355b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff600387901b1c1916600186901b178355610d38565b5f838152602081207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08716915b82811015610cf15786850135825560209485019460019092019101610cd1565b5086821015610d2c577fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff60f88860031b161c19848701351681555b505060018560011b0183555b5050505050565b8082018082111561029c5761029c610b13565b818382375f9101908152919050565b5f5f8354610d6e81610b80565b600182168015610d855760018114610db857610de5565b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0083168652811515820286019350610de5565b865f5260205f205f5b83811015610ddd57815488820152600190910190602001610dc1565b505081860193505b509195945050505050565b815167ffffffffffffffff811115610e0a57610e0a610b53565b610e1e81610e188454610b80565b84610bd1565b6020601f821160018114610e6f575f8315610e395750848201515b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff600385901b1c1916600184901b178455610d38565b5f848152602081207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08516915b82811015610ebc5787850151825560209485019460019092019101610e9c565b5084821015610ef857868401517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff600387901b60f8161c191681555b50505050600190811b0190555056fea2646970667358221220a9e0a2862c21710ce7bb55e2dc2d2f6478b874c60faf7af3cbb146c53fe8824564736f6c63430008250033",
}

// ReentrantToken is an auto generated Go binding around an Ethereum contract.
type ReentrantToken struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *ReentrantToken) GetABI() abi.ABI {
	return c.abi
}

// NewReentrantToken creates a new instance of ReentrantToken.
func NewReentrantToken() *ReentrantToken {
	parsed, err := ReentrantTokenMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &ReentrantToken{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *ReentrantToken) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackAllowance is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdd62ed3e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function allowance(address , address ) view returns(uint256)
func (reentrantToken *ReentrantToken) PackAllowance(arg0 common.Address, arg1 common.Address) []byte {
	enc, err := reentrantToken.abi.Pack("allowance", arg0, arg1)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAllowance is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xdd62ed3e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function allowance(address , address ) view returns(uint256)
func (reentrantToken *ReentrantToken) TryPackAllowance(arg0 common.Address, arg1 common.Address) ([]byte, error) {
	return reentrantToken.abi.Pack("allowance", arg0, arg1)
}

// UnpackAllowance is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xdd62ed3e.
//
// Solidity: function allowance(address , address ) view returns(uint256)
func (reentrantToken *ReentrantToken) UnpackAllowance(data []byte) (*big.Int, error) {
	out, err := reentrantToken.abi.Unpack("allowance", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackApprove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x095ea7b3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function approve(address spender, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) PackApprove(spender common.Address, amount *big.Int) []byte {
	enc, err := reentrantToken.abi.Pack("approve", spender, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackApprove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x095ea7b3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function approve(address spender, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) TryPackApprove(spender common.Address, amount *big.Int) ([]byte, error) {
	return reentrantToken.abi.Pack("approve", spender, amount)
}

// UnpackApprove is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x095ea7b3.
//
// Solidity: function approve(address spender, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) UnpackApprove(data []byte) (bool, error) {
	out, err := reentrantToken.abi.Unpack("approve", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackArm is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3522bfd0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function arm(address target, bytes data) returns()
func (reentrantToken *ReentrantToken) PackArm(target common.Address, data []byte) []byte {
	enc, err := reentrantToken.abi.Pack("arm", target, data)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackArm is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3522bfd0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function arm(address target, bytes data) returns()
func (reentrantToken *ReentrantToken) TryPackArm(target common.Address, data []byte) ([]byte, error) {
	return reentrantToken.abi.Pack("arm", target, data)
}

// PackBalanceOf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x70a08231.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function balanceOf(address ) view returns(uint256)
func (reentrantToken *ReentrantToken) PackBalanceOf(arg0 common.Address) []byte {
	enc, err := reentrantToken.abi.Pack("balanceOf", arg0)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackBalanceOf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x70a08231.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function balanceOf(address ) view returns(uint256)
func (reentrantToken *ReentrantToken) TryPackBalanceOf(arg0 common.Address) ([]byte, error) {
	return reentrantToken.abi.Pack("balanceOf", arg0)
}

// UnpackBalanceOf is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x70a08231.
//
// Solidity: function balanceOf(address ) view returns(uint256)
func (reentrantToken *ReentrantToken) UnpackBalanceOf(data []byte) (*big.Int, error) {
	out, err := reentrantToken.abi.Unpack("balanceOf", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackExec is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbe6002c2.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function exec(address target, bytes data) returns(bytes)
func (reentrantToken *ReentrantToken) PackExec(target common.Address, data []byte) []byte {
	enc, err := reentrantToken.abi.Pack("exec", target, data)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackExec is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbe6002c2.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function exec(address target, bytes data) returns(bytes)
func (reentrantToken *ReentrantToken) TryPackExec(target common.Address, data []byte) ([]byte, error) {
	return reentrantToken.abi.Pack("exec", target, data)
}

// UnpackExec is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xbe6002c2.
//
// Solidity: function exec(address target, bytes data) returns(bytes)
func (reentrantToken *ReentrantToken) UnpackExec(data []byte) ([]byte, error) {
	out, err := reentrantToken.abi.Unpack("exec", data)
	if err != nil {
		return *new([]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([]byte)).(*[]byte)
	return out0, nil
}

// PackHookError is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9a72d3d0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function hookError() view returns(bytes)
func (reentrantToken *ReentrantToken) PackHookError() []byte {
	enc, err := reentrantToken.abi.Pack("hookError")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHookError is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9a72d3d0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function hookError() view returns(bytes)
func (reentrantToken *ReentrantToken) TryPackHookError() ([]byte, error) {
	return reentrantToken.abi.Pack("hookError")
}

// UnpackHookError is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9a72d3d0.
//
// Solidity: function hookError() view returns(bytes)
func (reentrantToken *ReentrantToken) UnpackHookError(data []byte) ([]byte, error) {
	out, err := reentrantToken.abi.Unpack("hookError", data)
	if err != nil {
		return *new([]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([]byte)).(*[]byte)
	return out0, nil
}

// PackHookOK is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf87a7094.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function hookOK() view returns(bool)
func (reentrantToken *ReentrantToken) PackHookOK() []byte {
	enc, err := reentrantToken.abi.Pack("hookOK")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHookOK is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf87a7094.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function hookOK() view returns(bool)
func (reentrantToken *ReentrantToken) TryPackHookOK() ([]byte, error) {
	return reentrantToken.abi.Pack("hookOK")
}

// UnpackHookOK is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf87a7094.
//
// Solidity: function hookOK() view returns(bool)
func (reentrantToken *ReentrantToken) UnpackHookOK(data []byte) (bool, error) {
	out, err := reentrantToken.abi.Unpack("hookOK", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackMint is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x40c10f19.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function mint(address to, uint256 amount) returns()
func (reentrantToken *ReentrantToken) PackMint(to common.Address, amount *big.Int) []byte {
	enc, err := reentrantToken.abi.Pack("mint", to, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMint is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x40c10f19.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function mint(address to, uint256 amount) returns()
func (reentrantToken *ReentrantToken) TryPackMint(to common.Address, amount *big.Int) ([]byte, error) {
	return reentrantToken.abi.Pack("mint", to, amount)
}

// PackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function owner() view returns(address)
func (reentrantToken *ReentrantToken) PackOwner() []byte {
	enc, err := reentrantToken.abi.Pack("owner")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackOwner is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8da5cb5b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function owner() view returns(address)
func (reentrantToken *ReentrantToken) TryPackOwner() ([]byte, error) {
	return reentrantToken.abi.Pack("owner")
}

// UnpackOwner is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (reentrantToken *ReentrantToken) UnpackOwner(data []byte) (common.Address, error) {
	out, err := reentrantToken.abi.Unpack("owner", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackTotalSupply is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x18160ddd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function totalSupply() view returns(uint256)
func (reentrantToken *ReentrantToken) PackTotalSupply() []byte {
	enc, err := reentrantToken.abi.Pack("totalSupply")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTotalSupply is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x18160ddd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function totalSupply() view returns(uint256)
func (reentrantToken *ReentrantToken) TryPackTotalSupply() ([]byte, error) {
	return reentrantToken.abi.Pack("totalSupply")
}

// UnpackTotalSupply is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x18160ddd.
//
// Solidity: function totalSupply() view returns(uint256)
func (reentrantToken *ReentrantToken) UnpackTotalSupply(data []byte) (*big.Int, error) {
	out, err := reentrantToken.abi.Unpack("totalSupply", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa9059cbb.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transfer(address to, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) PackTransfer(to common.Address, amount *big.Int) []byte {
	enc, err := reentrantToken.abi.Pack("transfer", to, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa9059cbb.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transfer(address to, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) TryPackTransfer(to common.Address, amount *big.Int) ([]byte, error) {
	return reentrantToken.abi.Pack("transfer", to, amount)
}

// UnpackTransfer is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa9059cbb.
//
// Solidity: function transfer(address to, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) UnpackTransfer(data []byte) (bool, error) {
	out, err := reentrantToken.abi.Unpack("transfer", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackTransferFrom is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23b872dd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transferFrom(address from, address to, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) PackTransferFrom(from common.Address, to common.Address, amount *big.Int) []byte {
	enc, err := reentrantToken.abi.Pack("transferFrom", from, to, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransferFrom is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x23b872dd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transferFrom(address from, address to, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) TryPackTransferFrom(from common.Address, to common.Address, amount *big.Int) ([]byte, error) {
	return reentrantToken.abi.Pack("transferFrom", from, to, amount)
}

// UnpackTransferFrom is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x23b872dd.
//
// Solidity: function transferFrom(address from, address to, uint256 amount) returns(bool)
func (reentrantToken *ReentrantToken) UnpackTransferFrom(data []byte) (bool, error) {
	out, err := reentrantToken.abi.Unpack("transferFrom", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// ReentrantTokenApproval represents a Approval event raised by the ReentrantToken contract.
type ReentrantTokenApproval struct {
	Owner   common.Address
	Spender common.Address
	Value   *big.Int
	Raw     *types.Log // Blockchain specific contextual infos
}

const ReentrantTokenApprovalEventName = "Approval"

// ContractEventName returns the user-defined event name.
func (ReentrantTokenApproval) ContractEventName() string {
	return ReentrantTokenApprovalEventName
}

// UnpackApprovalEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Approval(address indexed owner, address indexed spender, uint256 value)
func (reentrantToken *ReentrantToken) UnpackApprovalEvent(log *types.Log) (*ReentrantTokenApproval, error) {
	event := "Approval"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != reentrantToken.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(ReentrantTokenApproval)
	if len(log.Data) > 0 {
		if err := reentrantToken.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range reentrantToken.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// ReentrantTokenTransfer represents a Transfer event raised by the ReentrantToken contract.
type ReentrantTokenTransfer struct {
	From  common.Address
	To    common.Address
	Value *big.Int
	Raw   *types.Log // Blockchain specific contextual infos
}

const ReentrantTokenTransferEventName = "Transfer"

// ContractEventName returns the user-defined event name.
func (ReentrantTokenTransfer) ContractEventName() string {
	return ReentrantTokenTransferEventName
}

// UnpackTransferEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Transfer(address indexed from, address indexed to, uint256 value)
func (reentrantToken *ReentrantToken) UnpackTransferEvent(log *types.Log) (*ReentrantTokenTransfer, error) {
	event := "Transfer"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != reentrantToken.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(ReentrantTokenTransfer)
	if len(log.Data) > 0 {
		if err := reentrantToken.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range reentrantToken.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (reentrantToken *ReentrantToken) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], reentrantToken.abi.Errors["ExecFailed"].ID.Bytes()[:4]) {
		return reentrantToken.UnpackExecFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], reentrantToken.abi.Errors["Insufficient"].ID.Bytes()[:4]) {
		return reentrantToken.UnpackInsufficientError(raw[4:])
	}
	if bytes.Equal(raw[:4], reentrantToken.abi.Errors["NotOwner"].ID.Bytes()[:4]) {
		return reentrantToken.UnpackNotOwnerError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// ReentrantTokenExecFailed represents a ExecFailed error raised by the ReentrantToken contract.
type ReentrantTokenExecFailed struct {
	Reason []byte
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ExecFailed(bytes reason)
func ReentrantTokenExecFailedErrorID() common.Hash {
	return common.HexToHash("0x1cbc47b5577c725b0d0ff2e8470e714843234aac4a23384ca9b1d6b5d6acb51b")
}

// UnpackExecFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ExecFailed(bytes reason)
func (reentrantToken *ReentrantToken) UnpackExecFailedError(raw []byte) (*ReentrantTokenExecFailed, error) {
	out := new(ReentrantTokenExecFailed)
	if err := reentrantToken.abi.UnpackIntoInterface(out, "ExecFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReentrantTokenInsufficient represents a Insufficient error raised by the ReentrantToken contract.
type ReentrantTokenInsufficient struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Insufficient()
func ReentrantTokenInsufficientErrorID() common.Hash {
	return common.HexToHash("0x1dc930eb2c4961d90a518760b06066c328f8656f480b66f410970ce67e327692")
}

// UnpackInsufficientError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Insufficient()
func (reentrantToken *ReentrantToken) UnpackInsufficientError(raw []byte) (*ReentrantTokenInsufficient, error) {
	out := new(ReentrantTokenInsufficient)
	if err := reentrantToken.abi.UnpackIntoInterface(out, "Insufficient", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReentrantTokenNotOwner represents a NotOwner error raised by the ReentrantToken contract.
type ReentrantTokenNotOwner struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotOwner()
func ReentrantTokenNotOwnerErrorID() common.Hash {
	return common.HexToHash("0x30cd74712f59d478562d48e2d35de830db72c60a63dd08ae59199eec990b5bc4")
}

// UnpackNotOwnerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotOwner()
func (reentrantToken *ReentrantToken) UnpackNotOwnerError(raw []byte) (*ReentrantTokenNotOwner, error) {
	out := new(ReentrantTokenNotOwner)
	if err := reentrantToken.abi.UnpackIntoInterface(out, "NotOwner", raw); err != nil {
		return nil, err
	}
	return out, nil
}
