// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package directory

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

// DirectoryMetaData contains all meta data concerning the Directory contract.
var DirectoryMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"contractIERC20\",\"name\":\"token_\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"current\",\"type\":\"uint64\"}],\"name\":\"DelayDecrease\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Empty\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"expire\",\"type\":\"uint64\"}],\"name\":\"Immature\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Insufficient\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"TokenCallFailed\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroAmount\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"staker\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"uint256\",\"name\":\"id\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"expire\",\"type\":\"uint64\"}],\"name\":\"Pull\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"staker\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"uint256\",\"name\":\"id\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"address\",\"name\":\"target\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"}],\"name\":\"Take\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"staker\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"delay\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"heft\",\"type\":\"uint256\"}],\"name\":\"Update\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"count\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"}],\"name\":\"heft\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"staker\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"id\",\"type\":\"uint256\"}],\"name\":\"pending\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"internalType\":\"uint64\",\"name\":\"expire\",\"type\":\"uint64\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"}],\"name\":\"pull\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"id\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"},{\"internalType\":\"uint64\",\"name\":\"delay\",\"type\":\"uint64\"}],\"name\":\"push\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"point\",\"type\":\"uint256\"}],\"name\":\"scan\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"staker\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"},{\"internalType\":\"uint64\",\"name\":\"delay\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"staker\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"}],\"name\":\"stake\",\"outputs\":[{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"},{\"internalType\":\"uint64\",\"name\":\"delay\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"id\",\"type\":\"uint256\"},{\"internalType\":\"address\",\"name\":\"target\",\"type\":\"address\"}],\"name\":\"take\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"token\",\"outputs\":[{\"internalType\":\"contractIERC20\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"total\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"stakee\",\"type\":\"address\"},{\"internalType\":\"uint64\",\"name\":\"delay\",\"type\":\"uint64\"}],\"name\":\"wait\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "Directory",
	Bin: "0x60a0604052348015600e575f5ffd5b50604051611988380380611988833981016040819052602b91603b565b6001600160a01b03166080526066565b5f60208284031215604a575f5ffd5b81516001600160a01b0381168114605f575f5ffd5b9392505050565b6080516118fc61008c5f395f81816102e0015281816105440152610bd101526118fc5ff3fe608060405234801561000f575f5ffd5b50600436106100c4575f3560e01c80638402181f1161007d578063ec829fb311610058578063ec829fb3146102a6578063fc0c546a146102db578063fd7f0a1514610327575f5ffd5b80638402181f14610214578063e14340cb14610227578063e16d14a01461023a575f5ffd5b80632ddbd13a116100ad5780632ddbd13a146101b3578063732c3297146101bb578063808615ac146101d0575f5ffd5b806306661abd146100c857806315167c03146100e4575b5f5ffd5b6100d160015481565b6040519081526020015b60405180910390f35b6101666100f23660046115c2565b73ffffffffffffffffffffffffffffffffffffffff9182165f908152600760209081526040808320938352929052208054600190910154918116927401000000000000000000000000000000000000000090910467ffffffffffffffff16916fffffffffffffffffffffffffffffffff1690565b6040805173ffffffffffffffffffffffffffffffffffffffff909416845267ffffffffffffffff90921660208401526fffffffffffffffffffffffffffffffff16908201526060016100db565b6100d15f5481565b6101ce6101c93660046115ea565b61033a565b005b6101e36101de366004611614565b610583565b604080516fffffffffffffffffffffffffffffffff909316835267ffffffffffffffff9091166020830152016100db565b6100d161022236600461165b565b6105ef565b6101ce61023536600461169a565b610acb565b61024d6102483660046116da565b610f66565b6040805173ffffffffffffffffffffffffffffffffffffffff95861681529490931660208501526fffffffffffffffffffffffffffffffff9091169183019190915267ffffffffffffffff1660608201526080016100db565b6100d16102b43660046116f1565b73ffffffffffffffffffffffffffffffffffffffff165f9081526006602052604090205490565b6103027f000000000000000000000000000000000000000000000000000000000000000081565b60405173ffffffffffffffffffffffffffffffffffffffff90911681526020016100db565b6101ce610335366004611711565b6110d6565b335f90815260076020908152604080832085845282528083208151606081018352815473ffffffffffffffffffffffffffffffffffffffff8116825274010000000000000000000000000000000000000000900467ffffffffffffffff1693810193909352600101546fffffffffffffffffffffffffffffffff169082018190529091036103f4576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b806020015167ffffffffffffffff164210156104535760208101516040517f34f1418f00000000000000000000000000000000000000000000000000000000815267ffffffffffffffff90911660048201526024015b60405180910390fd5b335f81815260076020908152604080832087845282529182902080547fffffffff0000000000000000000000000000000000000000000000000000000016815560010180547fffffffffffffffffffffffffffffffff0000000000000000000000000000000016905583820151825173ffffffffffffffffffffffffffffffffffffffff871681526fffffffffffffffffffffffffffffffff909116918101919091528592917f64a692ff81df4fc00edbaf170aad0672ad85f0d6c868a7958c129c1607b15b0d910160405180910390a3604081015161057e9073ffffffffffffffffffffffffffffffffffffffff7f0000000000000000000000000000000000000000000000000000000000000000169084906fffffffffffffffffffffffffffffffff16611254565b505050565b5f5f5f60025f6105a38787606091821b5f908152911b6014526028902090565b815260208101919091526040015f20546fffffffffffffffffffffffffffffffff81169670010000000000000000000000000000000090910467ffffffffffffffff1695509350505050565b5f816fffffffffffffffffffffffffffffffff165f0361063b576040517f1f2a200500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f60025f6106593387606091821b5f908152911b6014526028902090565b815260208101919091526040015f2080549091506fffffffffffffffffffffffffffffffff90811690841611156106bc576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b8054839082905f906106e19084906fffffffffffffffffffffffffffffffff16611766565b92506101000a8154816fffffffffffffffffffffffffffffffff02191690836fffffffffffffffffffffffffffffffff160217905550610754815f0160189054906101000a900467ffffffffffffffff1667ffffffffffffffff16846fffffffffffffffffffffffffffffffff166112fe565b826fffffffffffffffffffffffffffffffff165f5f8282546107769190611794565b909155505073ffffffffffffffffffffffffffffffffffffffff84165f908152600660205260408120546107bd906fffffffffffffffffffffffffffffffff861690611794565b73ffffffffffffffffffffffffffffffffffffffff86165f90815260066020908152604080832084905533835260089091528120805492935090610800836117a7565b9091555082549093505f9061083390700100000000000000000000000000000000900467ffffffffffffffff16426117de565b905060405180606001604052808773ffffffffffffffffffffffffffffffffffffffff1681526020018267ffffffffffffffff168152602001866fffffffffffffffffffffffffffffffff1681525060075f3373ffffffffffffffffffffffffffffffffffffffff1673ffffffffffffffffffffffffffffffffffffffff1681526020019081526020015f205f8681526020019081526020015f205f820151815f015f6101000a81548173ffffffffffffffffffffffffffffffffffffffff021916908373ffffffffffffffffffffffffffffffffffffffff1602179055506020820151815f0160146101000a81548167ffffffffffffffff021916908367ffffffffffffffff1602179055506040820151816001015f6101000a8154816fffffffffffffffffffffffffffffffff02191690836fffffffffffffffffffffffffffffffff1602179055509050503373ffffffffffffffffffffffffffffffffffffffff168673ffffffffffffffffffffffffffffffffffffffff167f24e6ee07c882402ec8a7e5f4536c762ff00b41ff9ae763e14f04b929f40d8987855f015f9054906101000a90046fffffffffffffffffffffffffffffffff16865f0160109054906101000a900467ffffffffffffffff1686604051610a46939291906fffffffffffffffffffffffffffffffff93909316835267ffffffffffffffff919091166020830152604082015260600190565b60405180910390a36040805173ffffffffffffffffffffffffffffffffffffffff881681526fffffffffffffffffffffffffffffffff8716602082015267ffffffffffffffff8316818301529051859133917fa1e00158e7159f1702c83732e4a5e73b2984a3e383d983b105ce3e20d63c98c59181900360600190a350505092915050565b816fffffffffffffffffffffffffffffffff165f03610b16576040517f1f2a200500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b33606090811b5f9081529084901b60145260288120808252600260205260409091208054700100000000000000000000000000000000900467ffffffffffffffff9081169084161015610bb75780546040517f961cd6ae00000000000000000000000000000000000000000000000000000000815270010000000000000000000000000000000090910467ffffffffffffffff16600482015260240161044a565b610c0b73ffffffffffffffffffffffffffffffffffffffff7f00000000000000000000000000000000000000000000000000000000000000001633306fffffffffffffffffffffffffffffffff881661134b565b80547801000000000000000000000000000000000000000000000000900467ffffffffffffffff165f819003610dba5760015f8154610c49906117a7565b9182905550825477ffffffffffffffffffffffffffffffffffffffffffffffff16780100000000000000000000000000000000000000000000000067ffffffffffffffff83169081029190911784555f8181526004602090815260408083208054337fffffffffffffffffffffffff00000000000000000000000000000000000000009182161790915560059092528220805490911673ffffffffffffffffffffffffffffffffffffffff8b161790559192506fffffffffffffffffffffffffffffffff87169190610d1d901960016117fe565b8367ffffffffffffffff16168367ffffffffffffffff16610d3e9190611794565b90505f610d4c600185611811565b67ffffffffffffffff1690505b81811115610d9a575f81815260036020526040902054610d7990846117fe565b9250610d87811960016117fe565b610d9390821682611794565b9050610d59565b505067ffffffffffffffff82165f90815260036020526040902055610de0565b610de08167ffffffffffffffff16866fffffffffffffffffffffffffffffffff16611403565b8154859083905f90610e059084906fffffffffffffffffffffffffffffffff16611831565b92506101000a8154816fffffffffffffffffffffffffffffffff02191690836fffffffffffffffffffffffffffffffff16021790555083825f0160106101000a81548167ffffffffffffffff021916908367ffffffffffffffff160217905550846fffffffffffffffffffffffffffffffff165f5f828254610e8791906117fe565b909155505073ffffffffffffffffffffffffffffffffffffffff86165f90815260066020526040812054610ece906fffffffffffffffffffffffffffffffff8816906117fe565b73ffffffffffffffffffffffffffffffffffffffff88165f81815260066020908152604091829020849055865482516fffffffffffffffffffffffffffffffff909116815267ffffffffffffffff8a169181019190915290810183905291925033917f24e6ee07c882402ec8a7e5f4536c762ff00b41ff9ae763e14f04b929f40d89879060600160405180910390a350505050505050565b5f5f5f5f5f5f549050805f03610fa8576040517f3db2a12a00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f610fb38288611859565b600180549192505b600182901c8111610fce5760011b610fbb565b5f5b8115611020575f610fe183836117fe565b9050838111611013575f8181526003602052604090205485811161101157819250808661100e9190611794565b95505b505b50600182901c9150610fd0565b5f61102c8260016117fe565b5f81815260056020908152604080832054600490925282205473ffffffffffffffffffffffffffffffffffffffff9182169d50169a509091506002816110828c8e606091821b5f908152911b6014526028902090565b815260208101919091526040015f20546fffffffffffffffffffffffffffffffff8116995067ffffffffffffffff700100000000000000000000000000000000909104169750505050505050509193509193565b5f60025f6110f43386606091821b5f908152911b6014526028902090565b815260208101919091526040015f20805490915067ffffffffffffffff700100000000000000000000000000000000909104811690831610156111855780546040517f961cd6ae00000000000000000000000000000000000000000000000000000000815270010000000000000000000000000000000090910467ffffffffffffffff16600482015260240161044a565b805467ffffffffffffffff831670010000000000000000000000000000000081027fffffffffffffffff0000000000000000ffffffffffffffffffffffffffffffff83168117845573ffffffffffffffffffffffffffffffffffffffff86165f818152600660209081526040918290205482516fffffffffffffffffffffffffffffffff958616959097169490941786528501939093529183015233917f24e6ee07c882402ec8a7e5f4536c762ff00b41ff9ae763e14f04b929f40d89879060600160405180910390a3505050565b60405173ffffffffffffffffffffffffffffffffffffffff831660248201526044810182905261057e908490606401604080517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08184030181529190526020810180517bffffffffffffffffffffffffffffffffffffffffffffffffffffffff167fa9059cbb00000000000000000000000000000000000000000000000000000000179052611450565b6001545b80831161057e575f8381526003602052604081208054849290611326908490611794565b909155506113389050831960016117fe565b611344908416846117fe565b9250611302565b60405173ffffffffffffffffffffffffffffffffffffffff808516602483015283166044820152606481018290526113fd908590608401604080517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08184030181529190526020810180517bffffffffffffffffffffffffffffffffffffffffffffffffffffffff167f23b872dd00000000000000000000000000000000000000000000000000000000179052611450565b50505050565b6001545b80831161057e575f838152600360205260408120805484929061142b9084906117fe565b9091555061143d9050831960016117fe565b611449908416846117fe565b9250611407565b8173ffffffffffffffffffffffffffffffffffffffff163b5f036114b8576040517ffecb69b400000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff8316600482015260240161044a565b5f5f8373ffffffffffffffffffffffffffffffffffffffff16836040516114df9190611891565b5f604051808303815f865af19150503d805f8114611518576040519150601f19603f3d011682016040523d82523d5f602084013e61151d565b606091505b509150915081158061154b575080511580159061154b57508080602001905181019061154991906118a7565b155b156113fd576040517ffecb69b400000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff8516600482015260240161044a565b803573ffffffffffffffffffffffffffffffffffffffff811681146115bd575f5ffd5b919050565b5f5f604083850312156115d3575f5ffd5b6115dc8361159a565b946020939093013593505050565b5f5f604083850312156115fb575f5ffd5b8235915061160b6020840161159a565b90509250929050565b5f5f60408385031215611625575f5ffd5b61162e8361159a565b915061160b6020840161159a565b80356fffffffffffffffffffffffffffffffff811681146115bd575f5ffd5b5f5f6040838503121561166c575f5ffd5b6116758361159a565b915061160b6020840161163c565b803567ffffffffffffffff811681146115bd575f5ffd5b5f5f5f606084860312156116ac575f5ffd5b6116b58461159a565b92506116c36020850161163c565b91506116d160408501611683565b90509250925092565b5f602082840312156116ea575f5ffd5b5035919050565b5f60208284031215611701575f5ffd5b61170a8261159a565b9392505050565b5f5f60408385031215611722575f5ffd5b61172b8361159a565b915061160b60208401611683565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b6fffffffffffffffffffffffffffffffff828116828216039081111561178e5761178e611739565b92915050565b8181038181111561178e5761178e611739565b5f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff82036117d7576117d7611739565b5060010190565b67ffffffffffffffff818116838216019081111561178e5761178e611739565b8082018082111561178e5761178e611739565b67ffffffffffffffff828116828216039081111561178e5761178e611739565b6fffffffffffffffffffffffffffffffff818116838216019081111561178e5761178e611739565b5f8261188c577f4e487b71000000000000000000000000000000000000000000000000000000005f52601260045260245ffd5b500690565b5f82518060208501845e5f920191825250919050565b5f602082840312156118b7575f5ffd5b8151801515811461170a575f5ffdfea2646970667358221220859f3e8025fe5f981bce890d4565f7d189f79e469b69b45c88d164fff3e10d9764736f6c63430008250033",
}

// Directory is an auto generated Go binding around an Ethereum contract.
type Directory struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *Directory) GetABI() abi.ABI {
	return c.abi
}

// NewDirectory creates a new instance of Directory.
func NewDirectory() *Directory {
	parsed, err := DirectoryMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &Directory{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *Directory) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address token_) returns()
func (directory *Directory) PackConstructor(token_ common.Address) []byte {
	enc, err := directory.abi.Pack("", token_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x06661abd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function count() view returns(uint256)
func (directory *Directory) PackCount() []byte {
	enc, err := directory.abi.Pack("count")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x06661abd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function count() view returns(uint256)
func (directory *Directory) TryPackCount() ([]byte, error) {
	return directory.abi.Pack("count")
}

// UnpackCount is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x06661abd.
//
// Solidity: function count() view returns(uint256)
func (directory *Directory) UnpackCount(data []byte) (*big.Int, error) {
	out, err := directory.abi.Unpack("count", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackHeft is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xec829fb3.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function heft(address stakee) view returns(uint256)
func (directory *Directory) PackHeft(stakee common.Address) []byte {
	enc, err := directory.abi.Pack("heft", stakee)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackHeft is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xec829fb3.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function heft(address stakee) view returns(uint256)
func (directory *Directory) TryPackHeft(stakee common.Address) ([]byte, error) {
	return directory.abi.Pack("heft", stakee)
}

// UnpackHeft is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xec829fb3.
//
// Solidity: function heft(address stakee) view returns(uint256)
func (directory *Directory) UnpackHeft(data []byte) (*big.Int, error) {
	out, err := directory.abi.Unpack("heft", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackPending is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x15167c03.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function pending(address staker, uint256 id) view returns(address stakee, uint64 expire, uint128 amount)
func (directory *Directory) PackPending(staker common.Address, id *big.Int) []byte {
	enc, err := directory.abi.Pack("pending", staker, id)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPending is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x15167c03.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function pending(address staker, uint256 id) view returns(address stakee, uint64 expire, uint128 amount)
func (directory *Directory) TryPackPending(staker common.Address, id *big.Int) ([]byte, error) {
	return directory.abi.Pack("pending", staker, id)
}

// PendingOutput serves as a container for the return parameters of contract
// method Pending.
type PendingOutput struct {
	Stakee common.Address
	Expire uint64
	Amount *big.Int
}

// UnpackPending is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x15167c03.
//
// Solidity: function pending(address staker, uint256 id) view returns(address stakee, uint64 expire, uint128 amount)
func (directory *Directory) UnpackPending(data []byte) (PendingOutput, error) {
	out, err := directory.abi.Unpack("pending", data)
	outstruct := new(PendingOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Stakee = *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	outstruct.Expire = *abi.ConvertType(out[1], new(uint64)).(*uint64)
	outstruct.Amount = abi.ConvertType(out[2], new(big.Int)).(*big.Int)
	return *outstruct, nil
}

// PackPull is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8402181f.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function pull(address stakee, uint128 amount) returns(uint256 id)
func (directory *Directory) PackPull(stakee common.Address, amount *big.Int) []byte {
	enc, err := directory.abi.Pack("pull", stakee, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPull is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x8402181f.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function pull(address stakee, uint128 amount) returns(uint256 id)
func (directory *Directory) TryPackPull(stakee common.Address, amount *big.Int) ([]byte, error) {
	return directory.abi.Pack("pull", stakee, amount)
}

// UnpackPull is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x8402181f.
//
// Solidity: function pull(address stakee, uint128 amount) returns(uint256 id)
func (directory *Directory) UnpackPull(data []byte) (*big.Int, error) {
	out, err := directory.abi.Unpack("pull", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackPush is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe14340cb.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function push(address stakee, uint128 amount, uint64 delay) returns()
func (directory *Directory) PackPush(stakee common.Address, amount *big.Int, delay uint64) []byte {
	enc, err := directory.abi.Pack("push", stakee, amount, delay)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackPush is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe14340cb.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function push(address stakee, uint128 amount, uint64 delay) returns()
func (directory *Directory) TryPackPush(stakee common.Address, amount *big.Int, delay uint64) ([]byte, error) {
	return directory.abi.Pack("push", stakee, amount, delay)
}

// PackScan is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe16d14a0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function scan(uint256 point) view returns(address stakee, address staker, uint128 amount, uint64 delay)
func (directory *Directory) PackScan(point *big.Int) []byte {
	enc, err := directory.abi.Pack("scan", point)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackScan is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe16d14a0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function scan(uint256 point) view returns(address stakee, address staker, uint128 amount, uint64 delay)
func (directory *Directory) TryPackScan(point *big.Int) ([]byte, error) {
	return directory.abi.Pack("scan", point)
}

// ScanOutput serves as a container for the return parameters of contract
// method Scan.
type ScanOutput struct {
	Stakee common.Address
	Staker common.Address
	Amount *big.Int
	Delay  uint64
}

// UnpackScan is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xe16d14a0.
//
// Solidity: function scan(uint256 point) view returns(address stakee, address staker, uint128 amount, uint64 delay)
func (directory *Directory) UnpackScan(data []byte) (ScanOutput, error) {
	out, err := directory.abi.Unpack("scan", data)
	outstruct := new(ScanOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Stakee = *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	outstruct.Staker = *abi.ConvertType(out[1], new(common.Address)).(*common.Address)
	outstruct.Amount = abi.ConvertType(out[2], new(big.Int)).(*big.Int)
	outstruct.Delay = *abi.ConvertType(out[3], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x808615ac.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function stake(address staker, address stakee) view returns(uint128 amount, uint64 delay)
func (directory *Directory) PackStake(staker common.Address, stakee common.Address) []byte {
	enc, err := directory.abi.Pack("stake", staker, stakee)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackStake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x808615ac.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function stake(address staker, address stakee) view returns(uint128 amount, uint64 delay)
func (directory *Directory) TryPackStake(staker common.Address, stakee common.Address) ([]byte, error) {
	return directory.abi.Pack("stake", staker, stakee)
}

// StakeOutput serves as a container for the return parameters of contract
// method Stake.
type StakeOutput struct {
	Amount *big.Int
	Delay  uint64
}

// UnpackStake is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x808615ac.
//
// Solidity: function stake(address staker, address stakee) view returns(uint128 amount, uint64 delay)
func (directory *Directory) UnpackStake(data []byte) (StakeOutput, error) {
	out, err := directory.abi.Unpack("stake", data)
	outstruct := new(StakeOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Amount = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.Delay = *abi.ConvertType(out[1], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackTake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x732c3297.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function take(uint256 id, address target) returns()
func (directory *Directory) PackTake(id *big.Int, target common.Address) []byte {
	enc, err := directory.abi.Pack("take", id, target)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTake is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x732c3297.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function take(uint256 id, address target) returns()
func (directory *Directory) TryPackTake(id *big.Int, target common.Address) ([]byte, error) {
	return directory.abi.Pack("take", id, target)
}

// PackToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfc0c546a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function token() view returns(address)
func (directory *Directory) PackToken() []byte {
	enc, err := directory.abi.Pack("token")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfc0c546a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function token() view returns(address)
func (directory *Directory) TryPackToken() ([]byte, error) {
	return directory.abi.Pack("token")
}

// UnpackToken is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfc0c546a.
//
// Solidity: function token() view returns(address)
func (directory *Directory) UnpackToken(data []byte) (common.Address, error) {
	out, err := directory.abi.Unpack("token", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackTotal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2ddbd13a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function total() view returns(uint256)
func (directory *Directory) PackTotal() []byte {
	enc, err := directory.abi.Pack("total")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTotal is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2ddbd13a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function total() view returns(uint256)
func (directory *Directory) TryPackTotal() ([]byte, error) {
	return directory.abi.Pack("total")
}

// UnpackTotal is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2ddbd13a.
//
// Solidity: function total() view returns(uint256)
func (directory *Directory) UnpackTotal(data []byte) (*big.Int, error) {
	out, err := directory.abi.Unpack("total", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackWait is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfd7f0a15.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function wait(address stakee, uint64 delay) returns()
func (directory *Directory) PackWait(stakee common.Address, delay uint64) []byte {
	enc, err := directory.abi.Pack("wait", stakee, delay)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWait is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfd7f0a15.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function wait(address stakee, uint64 delay) returns()
func (directory *Directory) TryPackWait(stakee common.Address, delay uint64) ([]byte, error) {
	return directory.abi.Pack("wait", stakee, delay)
}

// DirectoryPull represents a Pull event raised by the Directory contract.
type DirectoryPull struct {
	Staker common.Address
	Id     *big.Int
	Stakee common.Address
	Amount *big.Int
	Expire uint64
	Raw    *types.Log // Blockchain specific contextual infos
}

const DirectoryPullEventName = "Pull"

// ContractEventName returns the user-defined event name.
func (DirectoryPull) ContractEventName() string {
	return DirectoryPullEventName
}

// UnpackPullEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Pull(address indexed staker, uint256 indexed id, address stakee, uint128 amount, uint64 expire)
func (directory *Directory) UnpackPullEvent(log *types.Log) (*DirectoryPull, error) {
	event := "Pull"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != directory.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DirectoryPull)
	if len(log.Data) > 0 {
		if err := directory.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range directory.abi.Events[event].Inputs {
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

// DirectoryTake represents a Take event raised by the Directory contract.
type DirectoryTake struct {
	Staker common.Address
	Id     *big.Int
	Target common.Address
	Amount *big.Int
	Raw    *types.Log // Blockchain specific contextual infos
}

const DirectoryTakeEventName = "Take"

// ContractEventName returns the user-defined event name.
func (DirectoryTake) ContractEventName() string {
	return DirectoryTakeEventName
}

// UnpackTakeEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Take(address indexed staker, uint256 indexed id, address target, uint128 amount)
func (directory *Directory) UnpackTakeEvent(log *types.Log) (*DirectoryTake, error) {
	event := "Take"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != directory.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DirectoryTake)
	if len(log.Data) > 0 {
		if err := directory.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range directory.abi.Events[event].Inputs {
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

// DirectoryUpdate represents a Update event raised by the Directory contract.
type DirectoryUpdate struct {
	Stakee common.Address
	Staker common.Address
	Amount *big.Int
	Delay  uint64
	Heft   *big.Int
	Raw    *types.Log // Blockchain specific contextual infos
}

const DirectoryUpdateEventName = "Update"

// ContractEventName returns the user-defined event name.
func (DirectoryUpdate) ContractEventName() string {
	return DirectoryUpdateEventName
}

// UnpackUpdateEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Update(address indexed stakee, address indexed staker, uint128 amount, uint64 delay, uint256 heft)
func (directory *Directory) UnpackUpdateEvent(log *types.Log) (*DirectoryUpdate, error) {
	event := "Update"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != directory.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(DirectoryUpdate)
	if len(log.Data) > 0 {
		if err := directory.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range directory.abi.Events[event].Inputs {
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
func (directory *Directory) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], directory.abi.Errors["DelayDecrease"].ID.Bytes()[:4]) {
		return directory.UnpackDelayDecreaseError(raw[4:])
	}
	if bytes.Equal(raw[:4], directory.abi.Errors["Empty"].ID.Bytes()[:4]) {
		return directory.UnpackEmptyError(raw[4:])
	}
	if bytes.Equal(raw[:4], directory.abi.Errors["Immature"].ID.Bytes()[:4]) {
		return directory.UnpackImmatureError(raw[4:])
	}
	if bytes.Equal(raw[:4], directory.abi.Errors["Insufficient"].ID.Bytes()[:4]) {
		return directory.UnpackInsufficientError(raw[4:])
	}
	if bytes.Equal(raw[:4], directory.abi.Errors["TokenCallFailed"].ID.Bytes()[:4]) {
		return directory.UnpackTokenCallFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], directory.abi.Errors["ZeroAmount"].ID.Bytes()[:4]) {
		return directory.UnpackZeroAmountError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// DirectoryDelayDecrease represents a DelayDecrease error raised by the Directory contract.
type DirectoryDelayDecrease struct {
	Current uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error DelayDecrease(uint64 current)
func DirectoryDelayDecreaseErrorID() common.Hash {
	return common.HexToHash("0x961cd6ae63df7cf337cc605dc91c849b766115369cbbf55db1a1aee0e71f998b")
}

// UnpackDelayDecreaseError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error DelayDecrease(uint64 current)
func (directory *Directory) UnpackDelayDecreaseError(raw []byte) (*DirectoryDelayDecrease, error) {
	out := new(DirectoryDelayDecrease)
	if err := directory.abi.UnpackIntoInterface(out, "DelayDecrease", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DirectoryEmpty represents a Empty error raised by the Directory contract.
type DirectoryEmpty struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Empty()
func DirectoryEmptyErrorID() common.Hash {
	return common.HexToHash("0x3db2a12a1fcfb6e2e0de8666c64b3244166edb7b25b200204a8d0cca9b65cf37")
}

// UnpackEmptyError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Empty()
func (directory *Directory) UnpackEmptyError(raw []byte) (*DirectoryEmpty, error) {
	out := new(DirectoryEmpty)
	if err := directory.abi.UnpackIntoInterface(out, "Empty", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DirectoryImmature represents a Immature error raised by the Directory contract.
type DirectoryImmature struct {
	Expire uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Immature(uint64 expire)
func DirectoryImmatureErrorID() common.Hash {
	return common.HexToHash("0x34f1418f87d250aa2a66b33f4dae7c5b4fef2b858625be96fe770378ce128b0d")
}

// UnpackImmatureError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Immature(uint64 expire)
func (directory *Directory) UnpackImmatureError(raw []byte) (*DirectoryImmature, error) {
	out := new(DirectoryImmature)
	if err := directory.abi.UnpackIntoInterface(out, "Immature", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DirectoryInsufficient represents a Insufficient error raised by the Directory contract.
type DirectoryInsufficient struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Insufficient()
func DirectoryInsufficientErrorID() common.Hash {
	return common.HexToHash("0x1dc930eb2c4961d90a518760b06066c328f8656f480b66f410970ce67e327692")
}

// UnpackInsufficientError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Insufficient()
func (directory *Directory) UnpackInsufficientError(raw []byte) (*DirectoryInsufficient, error) {
	out := new(DirectoryInsufficient)
	if err := directory.abi.UnpackIntoInterface(out, "Insufficient", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DirectoryTokenCallFailed represents a TokenCallFailed error raised by the Directory contract.
type DirectoryTokenCallFailed struct {
	Token common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error TokenCallFailed(address token)
func DirectoryTokenCallFailedErrorID() common.Hash {
	return common.HexToHash("0xfecb69b4f00b9203b60da5ed901012a39c115c782cd06a41cb7715ca2556cd47")
}

// UnpackTokenCallFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error TokenCallFailed(address token)
func (directory *Directory) UnpackTokenCallFailedError(raw []byte) (*DirectoryTokenCallFailed, error) {
	out := new(DirectoryTokenCallFailed)
	if err := directory.abi.UnpackIntoInterface(out, "TokenCallFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// DirectoryZeroAmount represents a ZeroAmount error raised by the Directory contract.
type DirectoryZeroAmount struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAmount()
func DirectoryZeroAmountErrorID() common.Hash {
	return common.HexToHash("0x1f2a2005cb66a8e145327e8814e243a0996aec9bfe1e15a495778b1236dbd485")
}

// UnpackZeroAmountError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAmount()
func (directory *Directory) UnpackZeroAmountError(raw []byte) (*DirectoryZeroAmount, error) {
	out := new(DirectoryZeroAmount)
	if err := directory.abi.UnpackIntoInterface(out, "ZeroAmount", raw); err != nil {
		return nil, err
	}
	return out, nil
}
