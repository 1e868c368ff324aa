// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package curator

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

// CuratorMetaData contains all meta data concerning the Curator contract.
var CuratorMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[],\"name\":\"EmptyName\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"NotOwner\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Taken\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"list\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"node\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"bool\",\"name\":\"approved\",\"type\":\"bool\"}],\"name\":\"Approve\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"list\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"string\",\"name\":\"name\",\"type\":\"string\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"Create\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"list\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"Transfer\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"name\",\"type\":\"string\"}],\"name\":\"create\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"id\",\"type\":\"bytes32\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"id\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"node\",\"type\":\"address\"}],\"name\":\"good\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"id\",\"type\":\"bytes32\"}],\"name\":\"info\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"},{\"internalType\":\"uint64\",\"name\":\"size\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"name\",\"type\":\"string\"}],\"name\":\"listId\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"id\",\"type\":\"bytes32\"},{\"internalType\":\"address[]\",\"name\":\"nodes\",\"type\":\"address[]\"},{\"internalType\":\"bool\",\"name\":\"ok\",\"type\":\"bool\"}],\"name\":\"set\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"id\",\"type\":\"bytes32\"},{\"internalType\":\"address\",\"name\":\"owner\",\"type\":\"address\"}],\"name\":\"transfer\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "Curator",
	Bin: "0x6080604052348015600e575f5ffd5b506109f88061001c5f395ff3fe608060405234801561000f575f5ffd5b506004361061006f575f3560e01c806379ce9fac1161004d57806379ce9fac1461010b578063b64a097e1461011e578063b6a46b3b146101ad575f5ffd5b806303d8a50b146100735780633a2107c81461009f57806340bb6ecb146100f6575b5f5ffd5b61008c610081366004610637565b805160209091012090565b6040519081526020015b60405180910390f35b6100e66100ad36600461074f565b5f8281526020818152604080832073ffffffffffffffffffffffffffffffffffffffff8516845260010190915290205460ff1692915050565b6040519015158152602001610096565b610109610104366004610779565b6101c0565b005b61010961011936600461074f565b6103e9565b61017861012c36600461080a565b5f9081526020819052604090205473ffffffffffffffffffffffffffffffffffffffff8116917401000000000000000000000000000000000000000090910467ffffffffffffffff1690565b6040805173ffffffffffffffffffffffffffffffffffffffff909316835267ffffffffffffffff909116602083015201610096565b61008c6101bb366004610821565b6104c5565b5f84815260208190526040902054849073ffffffffffffffffffffffffffffffffffffffff16331461021e576040517f30cd747100000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f858152602081905260408120805490917401000000000000000000000000000000000000000090910467ffffffffffffffff16905b85811015610395575f87878381811061026f5761026f61088f565b905060200201602081019061028491906108bc565b73ffffffffffffffffffffffffffffffffffffffff81165f90815260018601602052604090205490915086151560ff9091161515036102c3575061038d565b73ffffffffffffffffffffffffffffffffffffffff81165f908152600185016020526040902080547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0016871580159190911790915561032c5761032583610909565b9250610338565b61033583610935565b92505b8073ffffffffffffffffffffffffffffffffffffffff16897fb45c1477ed50f0256d04e70d37eff15e182bec3c01b4e74c9c10ee1e8cab253c88604051610383911515815260200190565b60405180910390a3505b600101610254565b50815467ffffffffffffffff90911674010000000000000000000000000000000000000000027fffffffff0000000000000000ffffffffffffffffffffffffffffffffffffffff9091161790555050505050565b5f82815260208190526040902054829073ffffffffffffffffffffffffffffffffffffffff163314610447576040517f30cd747100000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f8381526020819052604080822080547fffffffffffffffffffffffff00000000000000000000000000000000000000001673ffffffffffffffffffffffffffffffffffffffff86169081179091559051909185917fd4735d920b0f87494915f556dd9b54c8f309026070caea5c737245152564d2669190a3505050565b5f8181036104ff576040517f2ef1310500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b61053d83838080601f0160208091040260200160405190810160405280939291908181526020018383808284375f9201919091525061008192505050565b5f81815260208190526040902080549192509073ffffffffffffffffffffffffffffffffffffffff161561059d576040517f7b2002ce00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b80547fffffffffffffffffffffffff00000000000000000000000000000000000000001633908117825560405183907f921e5a2e6bf61e1110d276c45e5b573ee331e477f6a0b71df25994711091d996906105fb9088908890610976565b60405180910390a35092915050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52604160045260245ffd5b5f60208284031215610647575f5ffd5b813567ffffffffffffffff81111561065d575f5ffd5b8201601f8101841361066d575f5ffd5b803567ffffffffffffffff8111156106875761068761060a565b6040517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0603f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0601f8501160116810181811067ffffffffffffffff821117156106f3576106f361060a565b60405281815282820160200186101561070a575f5ffd5b816020840160208301375f91810160200191909152949350505050565b803573ffffffffffffffffffffffffffffffffffffffff8116811461074a575f5ffd5b919050565b5f5f60408385031215610760575f5ffd5b8235915061077060208401610727565b90509250929050565b5f5f5f5f6060858703121561078c575f5ffd5b84359350602085013567ffffffffffffffff8111156107a9575f5ffd5b8501601f810187136107b9575f5ffd5b803567ffffffffffffffff8111156107cf575f5ffd5b8760208260051b84010111156107e3575f5ffd5b60209190910193509150604085013580151581146107ff575f5ffd5b939692955090935050565b5f6020828403121561081a575f5ffd5b5035919050565b5f5f60208385031215610832575f5ffd5b823567ffffffffffffffff811115610848575f5ffd5b8301601f81018513610858575f5ffd5b803567ffffffffffffffff81111561086e575f5ffd5b85602082840101111561087f575f5ffd5b6020919091019590945092505050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b5f602082840312156108cc575f5ffd5b6108d582610727565b9392505050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b5f67ffffffffffffffff821667ffffffffffffffff810361092c5761092c6108dc565b60010192915050565b5f67ffffffffffffffff82168061094e5761094e6108dc565b7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0192915050565b60208152816020820152818360408301375f818301604090810191909152601f9092017fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe016010191905056fea2646970667358221220fe91287209625281165fe2ced2dd2554e6560719e144de257ed7fe442ca414fb64736f6c63430008250033",
}

// Curator is an auto generated Go binding around an Ethereum contract.
type Curator struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *Curator) GetABI() abi.ABI {
	return c.abi
}

// NewCurator creates a new instance of Curator.
func NewCurator() *Curator {
	parsed, err := CuratorMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &Curator{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *Curator) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackCreate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb6a46b3b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function create(string name) returns(bytes32 id)
func (curator *Curator) PackCreate(name string) []byte {
	enc, err := curator.abi.Pack("create", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCreate is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb6a46b3b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function create(string name) returns(bytes32 id)
func (curator *Curator) TryPackCreate(name string) ([]byte, error) {
	return curator.abi.Pack("create", name)
}

// UnpackCreate is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xb6a46b3b.
//
// Solidity: function create(string name) returns(bytes32 id)
func (curator *Curator) UnpackCreate(data []byte) ([32]byte, error) {
	out, err := curator.abi.Unpack("create", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackGood is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3a2107c8.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function good(bytes32 id, address node) view returns(bool)
func (curator *Curator) PackGood(id [32]byte, node common.Address) []byte {
	enc, err := curator.abi.Pack("good", id, node)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGood is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x3a2107c8.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function good(bytes32 id, address node) view returns(bool)
func (curator *Curator) TryPackGood(id [32]byte, node common.Address) ([]byte, error) {
	return curator.abi.Pack("good", id, node)
}

// UnpackGood is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x3a2107c8.
//
// Solidity: function good(bytes32 id, address node) view returns(bool)
func (curator *Curator) UnpackGood(data []byte) (bool, error) {
	out, err := curator.abi.Unpack("good", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb64a097e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function info(bytes32 id) view returns(address owner, uint64 size)
func (curator *Curator) PackInfo(id [32]byte) []byte {
	enc, err := curator.abi.Pack("info", id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackInfo is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb64a097e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function info(bytes32 id) view returns(address owner, uint64 size)
func (curator *Curator) TryPackInfo(id [32]byte) ([]byte, error) {
	return curator.abi.Pack("info", id)
}

// InfoOutput serves as a container for the return parameters of contract
// method Info.
type InfoOutput struct {
	Owner common.Address
	Size  uint64
}

// UnpackInfo is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xb64a097e.
//
// Solidity: function info(bytes32 id) view returns(address owner, uint64 size)
func (curator *Curator) UnpackInfo(data []byte) (InfoOutput, error) {
	out, err := curator.abi.Unpack("info", data)
	outstruct := new(InfoOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Owner = *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	outstruct.Size = *abi.ConvertType(out[1], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackListId is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x03d8a50b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function listId(string name) pure returns(bytes32)
func (curator *Curator) PackListId(name string) []byte {
	enc, err := curator.abi.Pack("listId", name)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackListId is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x03d8a50b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function listId(string name) pure returns(bytes32)
func (curator *Curator) TryPackListId(name string) ([]byte, error) {
	return curator.abi.Pack("listId", name)
}

// UnpackListId is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x03d8a50b.
//
// Solidity: function listId(string name) pure returns(bytes32)
func (curator *Curator) UnpackListId(data []byte) ([32]byte, error) {
	out, err := curator.abi.Unpack("listId", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackSet is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x40bb6ecb.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function set(bytes32 id, address[] nodes, bool ok) returns()
func (curator *Curator) PackSet(id [32]byte, nodes []common.Address, ok bool) []byte {
	enc, err := curator.abi.Pack("set", id, nodes, ok)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSet is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x40bb6ecb.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function set(bytes32 id, address[] nodes, bool ok) returns()
func (curator *Curator) TryPackSet(id [32]byte, nodes []common.Address, ok bool) ([]byte, error) {
	return curator.abi.Pack("set", id, nodes, ok)
}

// PackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ce9fac.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function transfer(bytes32 id, address owner) returns()
func (curator *Curator) PackTransfer(id [32]byte, owner common.Address) []byte {
	enc, err := curator.abi.Pack("transfer", id, owner)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTransfer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x79ce9fac.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function transfer(bytes32 id, address owner) returns()
func (curator *Curator) TryPackTransfer(id [32]byte, owner common.Address) ([]byte, error) {
	return curator.abi.Pack("transfer", id, owner)
}

// CuratorApprove represents a Approve event raised by the Curator contract.
type CuratorApprove struct {
	List     [32]byte
	Node     common.Address
	Approved bool
	Raw      *types.Log // Blockchain specific contextual infos
}

const CuratorApproveEventName = "Approve"

// ContractEventName returns the user-defined event name.
func (CuratorApprove) ContractEventName() string {
	return CuratorApproveEventName
}

// UnpackApproveEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Approve(bytes32 indexed list, address indexed node, bool approved)
func (curator *Curator) UnpackApproveEvent(log *types.Log) (*CuratorApprove, error) {
	event := "Approve"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != curator.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(CuratorApprove)
	if len(log.Data) > 0 {
		if err := curator.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range curator.abi.Events[event].Inputs {
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

// CuratorCreate represents a Create event raised by the Curator contract.
type CuratorCreate struct {
	List  [32]byte
	Name  string
	Owner common.Address
	Raw   *types.Log // Blockchain specific contextual infos
}

const CuratorCreateEventName = "Create"

// ContractEventName returns the user-defined event name.
func (CuratorCreate) ContractEventName() string {
	return CuratorCreateEventName
}

// UnpackCreateEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Create(bytes32 indexed list, string name, address indexed owner)
func (curator *Curator) UnpackCreateEvent(log *types.Log) (*CuratorCreate, error) {
	event := "Create"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != curator.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(CuratorCreate)
	if len(log.Data) > 0 {
		if err := curator.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range curator.abi.Events[event].Inputs {
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

// CuratorTransfer represents a Transfer event raised by the Curator contract.
type CuratorTransfer struct {
	List  [32]byte
	Owner common.Address
	Raw   *types.Log // Blockchain specific contextual infos
}

const CuratorTransferEventName = "Transfer"

// ContractEventName returns the user-defined event name.
func (CuratorTransfer) ContractEventName() string {
	return CuratorTransferEventName
}

// UnpackTransferEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Transfer(bytes32 indexed list, address indexed owner)
func (curator *Curator) UnpackTransferEvent(log *types.Log) (*CuratorTransfer, error) {
	event := "Transfer"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != curator.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(CuratorTransfer)
	if len(log.Data) > 0 {
		if err := curator.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range curator.abi.Events[event].Inputs {
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
func (curator *Curator) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], curator.abi.Errors["EmptyName"].ID.Bytes()[:4]) {
		return curator.UnpackEmptyNameError(raw[4:])
	}
	if bytes.Equal(raw[:4], curator.abi.Errors["NotOwner"].ID.Bytes()[:4]) {
		return curator.UnpackNotOwnerError(raw[4:])
	}
	if bytes.Equal(raw[:4], curator.abi.Errors["Taken"].ID.Bytes()[:4]) {
		return curator.UnpackTakenError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// CuratorEmptyName represents a EmptyName error raised by the Curator contract.
type CuratorEmptyName struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmptyName()
func CuratorEmptyNameErrorID() common.Hash {
	return common.HexToHash("0x2ef131051921ac1500c097e497a691f596827ccfeb2703bc406b6c5e1fd0bb26")
}

// UnpackEmptyNameError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmptyName()
func (curator *Curator) UnpackEmptyNameError(raw []byte) (*CuratorEmptyName, error) {
	out := new(CuratorEmptyName)
	if err := curator.abi.UnpackIntoInterface(out, "EmptyName", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// CuratorNotOwner represents a NotOwner error raised by the Curator contract.
type CuratorNotOwner struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotOwner()
func CuratorNotOwnerErrorID() common.Hash {
	return common.HexToHash("0x30cd74712f59d478562d48e2d35de830db72c60a63dd08ae59199eec990b5bc4")
}

// UnpackNotOwnerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotOwner()
func (curator *Curator) UnpackNotOwnerError(raw []byte) (*CuratorNotOwner, error) {
	out := new(CuratorNotOwner)
	if err := curator.abi.UnpackIntoInterface(out, "NotOwner", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// CuratorTaken represents a Taken error raised by the Curator contract.
type CuratorTaken struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Taken()
func CuratorTakenErrorID() common.Hash {
	return common.HexToHash("0x7b2002ce49b2713ba16bf473483bcc84d2ced0990b17a91edf174bfc5f221a62")
}

// UnpackTakenError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Taken()
func (curator *Curator) UnpackTakenError(raw []byte) (*CuratorTaken, error) {
	out := new(CuratorTaken)
	if err := curator.abi.UnpackIntoInterface(out, "Taken", raw); err != nil {
		return nil, err
	}
	return out, nil
}
