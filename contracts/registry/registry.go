// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package registry

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

// RegistryNode is an auto generated low-level Go binding around an user-defined struct.
type RegistryNode struct {
	Url            string
	HandshakeKey   [32]byte
	TlsFingerprint [32]byte
	Token          common.Address
	PricePerGB     *big.Int
	Country        [2]byte
	Roles          uint8
	Updated        uint64
	ExitPolicy     string
}

// RegistryMetaData contains all meta data concerning the Registry contract.
var RegistryMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[],\"name\":\"BadCountry\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"BadKey\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"BadPolicy\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"BadRoles\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"BadURL\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Unknown\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"node\",\"type\":\"address\"}],\"name\":\"Remove\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"node\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"string\",\"name\":\"url\",\"type\":\"string\"},{\"indexed\":false,\"internalType\":\"bytes2\",\"name\":\"country\",\"type\":\"bytes2\"},{\"indexed\":false,\"internalType\":\"uint8\",\"name\":\"roles\",\"type\":\"uint8\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"pricePerGB\",\"type\":\"uint128\"}],\"name\":\"Update\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"MAX_POLICY\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"MAX_URL\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"ROLE_EXIT\",\"outputs\":[{\"internalType\":\"uint8\",\"name\":\"\",\"type\":\"uint8\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"ROLE_RELAY\",\"outputs\":[{\"internalType\":\"uint8\",\"name\":\"\",\"type\":\"uint8\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"node\",\"type\":\"address\"}],\"name\":\"look\",\"outputs\":[{\"components\":[{\"internalType\":\"string\",\"name\":\"url\",\"type\":\"string\"},{\"internalType\":\"bytes32\",\"name\":\"handshakeKey\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"tlsFingerprint\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"pricePerGB\",\"type\":\"uint128\"},{\"internalType\":\"bytes2\",\"name\":\"country\",\"type\":\"bytes2\"},{\"internalType\":\"uint8\",\"name\":\"roles\",\"type\":\"uint8\"},{\"internalType\":\"uint64\",\"name\":\"updated\",\"type\":\"uint64\"},{\"internalType\":\"string\",\"name\":\"exitPolicy\",\"type\":\"string\"}],\"internalType\":\"structRegistry.Node\",\"name\":\"\",\"type\":\"tuple\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"remove\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"url\",\"type\":\"string\"},{\"internalType\":\"bytes32\",\"name\":\"handshakeKey\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"tlsFingerprint\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"pricePerGB\",\"type\":\"uint128\"},{\"internalType\":\"bytes2\",\"name\":\"country\",\"type\":\"bytes2\"},{\"internalType\":\"uint8\",\"name\":\"roles\",\"type\":\"uint8\"},{\"internalType\":\"string\",\"name\":\"exitPolicy\",\"type\":\"string\"}],\"name\":\"set\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint128\",\"name\":\"pricePerGB\",\"type\":\"uint128\"}],\"name\":\"setPrice\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "Registry",
	Bin: "0x6080604052348015600e575f5ffd5b506111ae8061001c5f395ff3fe608060405234801561000f575f5ffd5b5060043610610085575f3560e01c806390dd258f1161005857806390dd258f146100e7578063a7f43779146100f0578063d20b309f146100f8578063f826c03514610100575f5ffd5b80633ae84a8214610089578063451f06ef1461009e57806347716969146100bd57806362697424146100d4575b5f5ffd5b61009c610097366004610b08565b610120565b005b6100a6600181565b60405160ff90911681526020015b60405180910390f35b6100c661020081565b6040519081526020016100b4565b61009c6100e2366004610ba0565b61023f565b6100c661010081565b61009c61067f565b6100a6600281565b61011361010e366004610c8c565b61077f565b6040516100b49190610cf1565b335f9081526020819052604090206001810154610169576040517f0cf6459800000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6004810180546fffffffffffffffffffffffffffffffff84167fffffffffff0000000000000000ffffff00000000000000000000000000000000909116177301000000000000000000000000000000000000004267ffffffffffffffff1602179081905560405133917f4ac1a3ea1f85a55b2e7668b106ff825d40fedd881f1295173904ea5602fddec091610233918591700100000000000000000000000000000000820460f01b917201000000000000000000000000000000000000900460ff16908890610e53565b60405180910390a25050565b88158061024d575061010089115b15610284576040517f514978d400000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b876102bb576040517fee9f2d5300000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6102ca845f5b1a60f81b6109f7565b15806102de57506102dc8460016102c1565b155b15610315576040517fd919895400000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60ff831615806103285750600360ff8416115b1561035f576040517f7f974cc900000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b61020081111561039b576040517f953c25a000000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6040518061012001604052808b8b8080601f0160208091040260200160405190810160405280939291908181526020018383808284375f9201919091525050509082525060208082018b905260408083018b905273ffffffffffffffffffffffffffffffffffffffff8a1660608401526fffffffffffffffffffffffffffffffff891660808401527fffff000000000000000000000000000000000000000000000000000000000000881660a084015260ff871660c084015267ffffffffffffffff421660e08401528051601f8601839004830281018301909152848152610100909201919085908590819084018382808284375f920182905250939094525050338152602081905260409020825190915081906104b99082610fc3565b506020820151600182015560408201516002820155606082015160038201805473ffffffffffffffffffffffffffffffffffffffff9092167fffffffffffffffffffffffff0000000000000000000000000000000000000000909216919091179055608082015160048201805460a085015160c086015160e087015167ffffffffffffffff16730100000000000000000000000000000000000000027fffffffffff0000000000000000ffffffffffffffffffffffffffffffffffffff60ff909216720100000000000000000000000000000000000002919091167fffffffffff000000000000000000ffffffffffffffffffffffffffffffffffff60f09390931c700100000000000000000000000000000000027fffffffffffffffffffffffffffff0000000000000000000000000000000000009094166fffffffffffffffffffffffffffffffff90961695909517929092171692909217919091179055610100820151600582019061062e9082610fc3565b50506040513391507f4ac1a3ea1f85a55b2e7668b106ff825d40fedd881f1295173904ea5602fddec09061066b908d908d90899089908c906110de565b60405180910390a250505050505050505050565b335f908152602081905260409020600101546106c7576040517f0cf6459800000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b335f908152602081905260408120906106e08282610a92565b5f60018301819055600283018190556003830180547fffffffffffffffffffffffff00000000000000000000000000000000000000001690556004830180547fffffffffff000000000000000000000000000000000000000000000000000000169055610751906005840190610a92565b505060405133907fbe7c7ac3248df4581c206a84aab3cb4e7d521b5398b42b681757f78a5a7d411e905f90a2565b604080516101208101825260608082525f602083018190529282018390528082018390526080820183905260a0820183905260c0820183905260e082019290925261010081019190915273ffffffffffffffffffffffffffffffffffffffff82165f90815260208190526040908190208151610120810190925280548290829061080890610e02565b80601f016020809104026020016040519081016040528092919081815260200182805461083490610e02565b801561087f5780601f106108565761010080835404028352916020019161087f565b820191905f5260205f20905b81548152906001019060200180831161086257829003601f168201915b50505091835250506001820154602082015260028201546040820152600382015473ffffffffffffffffffffffffffffffffffffffff16606082015260048201546fffffffffffffffffffffffffffffffff81166080830152700100000000000000000000000000000000810460f01b7fffff0000000000000000000000000000000000000000000000000000000000001660a08301527201000000000000000000000000000000000000810460ff1660c0830152730100000000000000000000000000000000000000900467ffffffffffffffff1660e08201526005820180546101009092019161097090610e02565b80601f016020809104026020016040519081016040528092919081815260200182805461099c90610e02565b80156109e75780601f106109be576101008083540402835291602001916109e7565b820191905f5260205f20905b8154815290600101906020018083116109ca57829003601f168201915b5050505050815250509050919050565b5f7f41000000000000000000000000000000000000000000000000000000000000007fff00000000000000000000000000000000000000000000000000000000000000831610801590610a8c57507f5a000000000000000000000000000000000000000000000000000000000000007fff00000000000000000000000000000000000000000000000000000000000000831611155b92915050565b508054610a9e90610e02565b5f825580601f10610aad575050565b601f0160209004905f5260205f2090610ac69190610ac8565b565b5f5b80821115610adf575f81840155600101610aca565b505050565b80356fffffffffffffffffffffffffffffffff81168114610b03575f5ffd5b919050565b5f60208284031215610b18575f5ffd5b610b2182610ae4565b9392505050565b5f5f83601f840112610b38575f5ffd5b50813567ffffffffffffffff811115610b4f575f5ffd5b602083019150836020828501011115610b66575f5ffd5b9250929050565b803573ffffffffffffffffffffffffffffffffffffffff81168114610b03575f5ffd5b803560ff81168114610b03575f5ffd5b5f5f5f5f5f5f5f5f5f5f6101008b8d031215610bba575f5ffd5b8a3567ffffffffffffffff811115610bd0575f5ffd5b610bdc8d828e01610b28565b909b5099505060208b0135975060408b01359650610bfc60608c01610b6d565b9550610c0a60808c01610ae4565b945060a08b01357fffff00000000000000000000000000000000000000000000000000000000000081168114610c3e575f5ffd5b9350610c4c60c08c01610b90565b925060e08b013567ffffffffffffffff811115610c67575f5ffd5b610c738d828e01610b28565b915080935050809150509295989b9194979a5092959850565b5f60208284031215610c9c575f5ffd5b610b2182610b6d565b5f81518084528060208401602086015e5f6020828601015260207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f83011685010191505092915050565b602081525f82516101206020840152610d0e610140840182610ca5565b905060208401516040840152604084015160608401526060840151610d4b608085018273ffffffffffffffffffffffffffffffffffffffff169052565b5060808401516fffffffffffffffffffffffffffffffff811660a08501525060a08401517fffff000000000000000000000000000000000000000000000000000000000000811660c08501525060c084015160ff811660e08501525060e084015167ffffffffffffffff8116610100850152506101008401517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe084830301610120850152610df98282610ca5565b95945050505050565b600181811c90821680610e1657607f821691505b602082108103610e4d577f4e487b71000000000000000000000000000000000000000000000000000000005f52602260045260245ffd5b50919050565b608081525f5f8654610e6481610e02565b806080860152600182165f8114610e825760018114610ebc57610eed565b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00831660a087015260a082151560051b8701019350610eed565b895f5260205f205f5b83811015610ee457815488820160a00152600190910190602001610ec5565b870160a0019450505b5050507fffff00000000000000000000000000000000000000000000000000000000000086166020840152905060ff841660408301526fffffffffffffffffffffffffffffffff83166060830152610df9565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b601f821115610adf5782821115610adf57805f5260205f20601f840160051c6020851015610f9857505f5b90810190601f840160051c035f5b81811015610fbb575f83820155600101610fa6565b505050505050565b815167ffffffffffffffff811115610fdd57610fdd610f40565b610ff181610feb8454610e02565b84610f6d565b6020601f821160018114611042575f831561100c5750848201515b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff600385901b1c1916600184901b1784556110d7565b5f848152602081207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08516915b8281101561108f578785015182556020948501946001909201910161106f565b50848210156110cb57868401517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff600387901b60f8161c191681555b505060018360011b0184555b5050505050565b60808152846080820152848660a08301375f60a086830101525f60a07fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f88011683010190507fffff0000000000000000000000000000000000000000000000000000000000008516602083015260ff841660408301526fffffffffffffffffffffffffffffffff83166060830152969550505050505056fea264697066735822122089e590d374353170a3320fc44b81ac21844e7e9a8ccecb0fecbab1f47a1c468864736f6c63430008250033",
}

// Registry is an auto generated Go binding around an Ethereum contract.
type Registry struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *Registry) GetABI() abi.ABI {
	return c.abi
}

// NewRegistry creates a new instance of Registry.
func NewRegistry() *Registry {
	parsed, err := RegistryMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &Registry{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *Registry) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackMAXPOLICY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x47716969.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_POLICY() view returns(uint256)
func (registry *Registry) PackMAXPOLICY() []byte {
	enc, err := registry.abi.Pack("MAX_POLICY")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXPOLICY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x47716969.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_POLICY() view returns(uint256)
func (registry *Registry) TryPackMAXPOLICY() ([]byte, error) {
	return registry.abi.Pack("MAX_POLICY")
}

// UnpackMAXPOLICY is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x47716969.
//
// Solidity: function MAX_POLICY() view returns(uint256)
func (registry *Registry) UnpackMAXPOLICY(data []byte) (*big.Int, error) {
	out, err := registry.abi.Unpack("MAX_POLICY", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackMAXURL is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x90dd258f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_URL() view returns(uint256)
func (registry *Registry) PackMAXURL() []byte {
	enc, err := registry.abi.Pack("MAX_URL")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXURL is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x90dd258f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_URL() view returns(uint256)
func (registry *Registry) TryPackMAXURL() ([]byte, error) {
	return registry.abi.Pack("MAX_URL")
}

// UnpackMAXURL is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x90dd258f.
//
// Solidity: function MAX_URL() view returns(uint256)
func (registry *Registry) UnpackMAXURL(data []byte) (*big.Int, error) {
	out, err := registry.abi.Unpack("MAX_URL", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackROLEEXIT is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd20b309f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function ROLE_EXIT() view returns(uint8)
func (registry *Registry) PackROLEEXIT() []byte {
	enc, err := registry.abi.Pack("ROLE_EXIT")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackROLEEXIT is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd20b309f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function ROLE_EXIT() view returns(uint8)
func (registry *Registry) TryPackROLEEXIT() ([]byte, error) {
	return registry.abi.Pack("ROLE_EXIT")
}

// UnpackROLEEXIT is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xd20b309f.
//
// Solidity: function ROLE_EXIT() view returns(uint8)
func (registry *Registry) UnpackROLEEXIT(data []byte) (uint8, error) {
	out, err := registry.abi.Unpack("ROLE_EXIT", data)
	if err != nil {
		return *new(uint8), err
	}
	out0 := *abi.ConvertType(out[0], new(uint8)).(*uint8)
	return out0, nil
}

// PackROLERELAY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x451f06ef.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function ROLE_RELAY() view returns(uint8)
func (registry *Registry) PackROLERELAY() []byte {
	enc, err := registry.abi.Pack("ROLE_RELAY")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackROLERELAY is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x451f06ef.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function ROLE_RELAY() view returns(uint8)
func (registry *Registry) TryPackROLERELAY() ([]byte, error) {
	return registry.abi.Pack("ROLE_RELAY")
}

// UnpackROLERELAY is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x451f06ef.
//
// Solidity: function ROLE_RELAY() view returns(uint8)
func (registry *Registry) UnpackROLERELAY(data []byte) (uint8, error) {
	out, err := registry.abi.Unpack("ROLE_RELAY", data)
	if err != nil {
		return *new(uint8), err
	}
	out0 := *abi.ConvertType(out[0], new(uint8)).(*uint8)
	return out0, nil
}

// PackLook is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf826c035.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function look(address node) view returns((string,bytes32,bytes32,address,uint128,bytes2,uint8,uint64,string))
func (registry *Registry) PackLook(node common.Address) []byte {
	enc, err := registry.abi.Pack("look", node)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackLook is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf826c035.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function look(address node) view returns((string,bytes32,bytes32,address,uint128,bytes2,uint8,uint64,string))
func (registry *Registry) TryPackLook(node common.Address) ([]byte, error) {
	return registry.abi.Pack("look", node)
}

// UnpackLook is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf826c035.
//
// Solidity: function look(address node) view returns((string,bytes32,bytes32,address,uint128,bytes2,uint8,uint64,string))
func (registry *Registry) UnpackLook(data []byte) (RegistryNode, error) {
	out, err := registry.abi.Unpack("look", data)
	if err != nil {
		return *new(RegistryNode), err
	}
	out0 := *abi.ConvertType(out[0], new(RegistryNode)).(*RegistryNode)
	return out0, nil
}

// PackRemove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7f43779.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function remove() returns()
func (registry *Registry) PackRemove() []byte {
	enc, err := registry.abi.Pack("remove")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRemove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa7f43779.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function remove() returns()
func (registry *Registry) TryPackRemove() ([]byte, error) {
	return registry.abi.Pack("remove")
}

// PackSet is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x62697424.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function set(string url, bytes32 handshakeKey, bytes32 tlsFingerprint, address token, uint128 pricePerGB, bytes2 country, uint8 roles, string exitPolicy) returns()
func (registry *Registry) PackSet(url string, handshakeKey [32]byte, tlsFingerprint [32]byte, token common.Address, pricePerGB *big.Int, country [2]byte, roles uint8, exitPolicy string) []byte {
	enc, err := registry.abi.Pack("set", url, handshakeKey, tlsFingerprint, token, pricePerGB, country, roles, exitPolicy)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSet is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x62697424.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function set(string url, bytes32 handshakeKey, bytes32 tlsFingerprint, address token, uint128 pricePerGB, bytes2 country, uint8 roles, string exitPolicy) returns()
func (registry *Registry) TryPackSet(url string, handshakeKey [32]byte, tlsFingerprint [32]byte, token common.Address, pricePerGB *big.Int, country [2]byte, roles uint8, exitPolicy string) ([]byte, error) {
	return registry.abi.Pack("set", url, handshakeKey, tlsFingerprint, token, pricePerGB, country, roles, exitPolicy)
}

// PackSetPrice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3ae84a82.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function setPrice(uint128 pricePerGB) returns()
func (registry *Registry) PackSetPrice(pricePerGB *big.Int) []byte {
	enc, err := registry.abi.Pack("setPrice", pricePerGB)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSetPrice is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3ae84a82.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function setPrice(uint128 pricePerGB) returns()
func (registry *Registry) TryPackSetPrice(pricePerGB *big.Int) ([]byte, error) {
	return registry.abi.Pack("setPrice", pricePerGB)
}

// RegistryRemove represents a Remove event raised by the Registry contract.
type RegistryRemove struct {
	Node common.Address
	Raw  *types.Log // Blockchain specific contextual infos
}

const RegistryRemoveEventName = "Remove"

// ContractEventName returns the user-defined event name.
func (RegistryRemove) ContractEventName() string {
	return RegistryRemoveEventName
}

// UnpackRemoveEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Remove(address indexed node)
func (registry *Registry) UnpackRemoveEvent(log *types.Log) (*RegistryRemove, error) {
	event := "Remove"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != registry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(RegistryRemove)
	if len(log.Data) > 0 {
		if err := registry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range registry.abi.Events[event].Inputs {
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

// RegistryUpdate represents a Update event raised by the Registry contract.
type RegistryUpdate struct {
	Node       common.Address
	Url        string
	Country    [2]byte
	Roles      uint8
	PricePerGB *big.Int
	Raw        *types.Log // Blockchain specific contextual infos
}

const RegistryUpdateEventName = "Update"

// ContractEventName returns the user-defined event name.
func (RegistryUpdate) ContractEventName() string {
	return RegistryUpdateEventName
}

// UnpackUpdateEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Update(address indexed node, string url, bytes2 country, uint8 roles, uint128 pricePerGB)
func (registry *Registry) UnpackUpdateEvent(log *types.Log) (*RegistryUpdate, error) {
	event := "Update"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != registry.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(RegistryUpdate)
	if len(log.Data) > 0 {
		if err := registry.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range registry.abi.Events[event].Inputs {
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
func (registry *Registry) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], registry.abi.Errors["BadCountry"].ID.Bytes()[:4]) {
		return registry.UnpackBadCountryError(raw[4:])
	}
	if bytes.Equal(raw[:4], registry.abi.Errors["BadKey"].ID.Bytes()[:4]) {
		return registry.UnpackBadKeyError(raw[4:])
	}
	if bytes.Equal(raw[:4], registry.abi.Errors["BadPolicy"].ID.Bytes()[:4]) {
		return registry.UnpackBadPolicyError(raw[4:])
	}
	if bytes.Equal(raw[:4], registry.abi.Errors["BadRoles"].ID.Bytes()[:4]) {
		return registry.UnpackBadRolesError(raw[4:])
	}
	if bytes.Equal(raw[:4], registry.abi.Errors["BadURL"].ID.Bytes()[:4]) {
		return registry.UnpackBadURLError(raw[4:])
	}
	if bytes.Equal(raw[:4], registry.abi.Errors["Unknown"].ID.Bytes()[:4]) {
		return registry.UnpackUnknownError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// RegistryBadCountry represents a BadCountry error raised by the Registry contract.
type RegistryBadCountry struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadCountry()
func RegistryBadCountryErrorID() common.Hash {
	return common.HexToHash("0xd91989546e7ae5c38064f959d8f849adb25c5923b6130bb2cc35d832bffaa7eb")
}

// UnpackBadCountryError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadCountry()
func (registry *Registry) UnpackBadCountryError(raw []byte) (*RegistryBadCountry, error) {
	out := new(RegistryBadCountry)
	if err := registry.abi.UnpackIntoInterface(out, "BadCountry", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// RegistryBadKey represents a BadKey error raised by the Registry contract.
type RegistryBadKey struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadKey()
func RegistryBadKeyErrorID() common.Hash {
	return common.HexToHash("0xee9f2d537bde7567f0e60f7e7ee11ce8d6383f6cb525c16217a5d958064efde2")
}

// UnpackBadKeyError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadKey()
func (registry *Registry) UnpackBadKeyError(raw []byte) (*RegistryBadKey, error) {
	out := new(RegistryBadKey)
	if err := registry.abi.UnpackIntoInterface(out, "BadKey", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// RegistryBadPolicy represents a BadPolicy error raised by the Registry contract.
type RegistryBadPolicy struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadPolicy()
func RegistryBadPolicyErrorID() common.Hash {
	return common.HexToHash("0x953c25a03ad7f1c3a1ff85d42fda731d583e65dc16bd947e048fd11cba3be1a9")
}

// UnpackBadPolicyError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadPolicy()
func (registry *Registry) UnpackBadPolicyError(raw []byte) (*RegistryBadPolicy, error) {
	out := new(RegistryBadPolicy)
	if err := registry.abi.UnpackIntoInterface(out, "BadPolicy", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// RegistryBadRoles represents a BadRoles error raised by the Registry contract.
type RegistryBadRoles struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadRoles()
func RegistryBadRolesErrorID() common.Hash {
	return common.HexToHash("0x7f974cc9f45edff117c82efa289900ff7e27cb48d0759623c678b0c927cd7970")
}

// UnpackBadRolesError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadRoles()
func (registry *Registry) UnpackBadRolesError(raw []byte) (*RegistryBadRoles, error) {
	out := new(RegistryBadRoles)
	if err := registry.abi.UnpackIntoInterface(out, "BadRoles", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// RegistryBadURL represents a BadURL error raised by the Registry contract.
type RegistryBadURL struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadURL()
func RegistryBadURLErrorID() common.Hash {
	return common.HexToHash("0x514978d466d2d4717378cffa41a8b3cd77da5c548f0c41bb93f0a6fa0d3163d6")
}

// UnpackBadURLError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadURL()
func (registry *Registry) UnpackBadURLError(raw []byte) (*RegistryBadURL, error) {
	out := new(RegistryBadURL)
	if err := registry.abi.UnpackIntoInterface(out, "BadURL", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// RegistryUnknown represents a Unknown error raised by the Registry contract.
type RegistryUnknown struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Unknown()
func RegistryUnknownErrorID() common.Hash {
	return common.HexToHash("0x0cf64598c0d224c06e8f9cca65ec434cddc2326c0f49b813069f0e5fada22b20")
}

// UnpackUnknownError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Unknown()
func (registry *Registry) UnpackUnknownError(raw []byte) (*RegistryUnknown, error) {
	out := new(RegistryUnknown)
	if err := registry.abi.UnpackIntoInterface(out, "Unknown", raw); err != nil {
		return nil, err
	}
	return out, nil
}
