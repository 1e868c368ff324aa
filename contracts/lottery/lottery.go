// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package lottery

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

// LotteryTicket is an auto generated low-level Go binding around an user-defined struct.
type LotteryTicket struct {
	Reveal  [32]byte
	Packed0 *big.Int
	Packed1 *big.Int
	R       [32]byte
	Vs      [32]byte
}

// LotteryMetaData contains all meta data concerning the Lottery contract.
var LotteryMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"delay_\",\"type\":\"uint64\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[],\"name\":\"EscrowExceedsDeposit\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Insufficient\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"unlock\",\"type\":\"uint64\"}],\"name\":\"Locked\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"NotWarned\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Overflow\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"Reentrancy\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"}],\"name\":\"TokenCallFailed\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"TransferFailed\",\"type\":\"error\"},{\"inputs\":[],\"name\":\"ZeroSigner\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"account\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Burned\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"recipient\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"address\",\"name\":\"target\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Collected\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"ticket\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"enumLottery.Reason\",\"name\":\"reason\",\"type\":\"uint8\"}],\"name\":\"Rejected\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"account\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"funder\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"balance\",\"type\":\"uint128\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"escrow\",\"type\":\"uint128\"},{\"indexed\":false,\"internalType\":\"uint128\",\"name\":\"warned\",\"type\":\"uint128\"},{\"indexed\":false,\"internalType\":\"uint64\",\"name\":\"unlock\",\"type\":\"uint64\"}],\"name\":\"Update\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"ticket\",\"type\":\"bytes32\"},{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"account\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"}],\"name\":\"Won\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"funder\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"}],\"name\":\"account\",\"outputs\":[{\"internalType\":\"uint128\",\"name\":\"balance\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"escrow\",\"type\":\"uint128\"},{\"internalType\":\"uint128\",\"name\":\"warned\",\"type\":\"uint128\"},{\"internalType\":\"uint64\",\"name\":\"unlock\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"funder\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"}],\"name\":\"accountKey\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"key\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"components\":[{\"internalType\":\"bytes32\",\"name\":\"reveal\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"packed0\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"packed1\",\"type\":\"uint256\"},{\"internalType\":\"bytes32\",\"name\":\"r\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"vs\",\"type\":\"bytes32\"}],\"internalType\":\"structLottery.Ticket[]\",\"name\":\"tickets\",\"type\":\"tuple[]\"}],\"name\":\"claim\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"addresspayable\",\"name\":\"target\",\"type\":\"address\"}],\"name\":\"collect\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"delay\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"escrow_\",\"type\":\"uint128\"}],\"name\":\"deposit\",\"outputs\":[],\"stateMutability\":\"payable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"contractIERC20\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint128\",\"name\":\"escrow_\",\"type\":\"uint128\"}],\"name\":\"depositToken\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"recipient\",\"type\":\"address\"}],\"name\":\"earnings\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"recipient\",\"type\":\"address\"}],\"name\":\"mark\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"}],\"name\":\"move\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"recipient\",\"type\":\"address\"},{\"internalType\":\"bytes32\",\"name\":\"commit\",\"type\":\"bytes32\"},{\"internalType\":\"uint256\",\"name\":\"packed0\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"packed1\",\"type\":\"uint256\"}],\"name\":\"ticketDigest\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"d\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"}],\"name\":\"warn\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token\",\"type\":\"address\"},{\"internalType\":\"address\",\"name\":\"signer\",\"type\":\"address\"},{\"internalType\":\"uint128\",\"name\":\"amount\",\"type\":\"uint128\"},{\"internalType\":\"addresspayable\",\"name\":\"target\",\"type\":\"address\"}],\"name\":\"withdraw\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	ID:  "Lottery",
	Bin: "0x60a0604052348015600e575f5ffd5b50604051612230380380612230833981016040819052602b91603b565b6001600160401b03166080526066565b5f60208284031215604a575f5ffd5b81516001600160401b0381168114605f575f5ffd5b9392505050565b6080516121ab6100855f395f81816101af0152610cb601526121ab5ff3fe6080604052600436106100ce575f3560e01c80636e03a8cd1161007c578063ba2d0dfe11610057578063ba2d0dfe1461029a578063bda1887a146102b9578063e6b5352c146102d8578063f052c845146102f7575f5ffd5b80636e03a8cd146101ea5780637c80254714610268578063b3fb656414610287575f5ffd5b80632b0c4499116100ac5780632b0c4499146101605780632c2eb94a1461017f5780636a42b8f81461019e575f5ffd5b806305c682dd146100d25780631b239a64146101205780632af2cecc14610141575b5f5ffd5b3480156100dd575f5ffd5b5061010d6100ec366004611d30565b604051606093841b815291831b601483015290911b6028820152603c902090565b6040519081526020015b60405180910390f35b34801561012b575f5ffd5b5061013f61013a366004611d9c565b610359565b005b34801561014c575f5ffd5b5061010d61015b366004611dea565b610612565b34801561016b575f5ffd5b5061013f61017a366004611e21565b610647565b34801561018a575f5ffd5b5061013f610199366004611e78565b610a6c565b3480156101a9575f5ffd5b506101d17f000000000000000000000000000000000000000000000000000000000000000081565b60405167ffffffffffffffff9091168152602001610117565b3480156101f5575f5ffd5b5061010d610204366004611eac565b6040517f1900000000000000000000000000000000000000000000000000000000000000815230606090811b600283015246601683015295861b60368201529390941b604a840152605e830191909152607e820152609e81019190915260be902090565b348015610273575f5ffd5b5061013f610282366004611ef9565b610bdc565b61013f610295366004611f3d565b610d36565b3480156102a5575f5ffd5b5061010d6102b4366004611f70565b610e4f565b3480156102c4575f5ffd5b5061010d6102d3366004611dea565b610f6c565b3480156102e3575f5ffd5b5061013f6102f2366004611ef9565b610f8a565b348015610302575f5ffd5b50610316610311366004611d30565b61119c565b604080516fffffffffffffffffffffffffffffffff95861681529385166020850152919093169082015267ffffffffffffffff9091166060820152608001610117565b60ff5f5c1615610395576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d5073ffffffffffffffffffffffffffffffffffffffff841661040e576040517f90b8ec1800000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6040517f70a082310000000000000000000000000000000000000000000000000000000081523060048201525f9073ffffffffffffffffffffffffffffffffffffffff8616906370a0823190602401602060405180830381865afa158015610478573d5f5f3e3d5ffd5b505050506040513d601f19601f8201168201806040525081019061049c9190611ff3565b90506104c073ffffffffffffffffffffffffffffffffffffffff861633308661122d565b6040517f70a082310000000000000000000000000000000000000000000000000000000081523060048201525f90829073ffffffffffffffffffffffffffffffffffffffff8816906370a0823190602401602060405180830381865afa15801561052c573d5f5f3e3d5ffd5b505050506040513d601f19601f820116820180604052508101906105509190611ff3565b61055a9190612037565b905080836fffffffffffffffffffffffffffffffff1611156105a8576040517f145f8ae000000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6105e186866105c96fffffffffffffffffffffffffffffffff871685612037565b866fffffffffffffffffffffffffffffffff166112e5565b505f90507fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00815c16815d5050505050565b5f60035f6106308585606091821b5f908152911b6014526028902090565b81526020019081526020015f205490505b92915050565b60ff5f5c1615610683576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d50604051606085811b825233811b601483015284901b6028820152603c90205f905f818152600160205260408120805492935091700100000000000000000000000000000000900467ffffffffffffffff169003610738576040517f5b5801fa00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b8054700100000000000000000000000000000000900467ffffffffffffffff164210156107b85780546040517feada265800000000000000000000000000000000000000000000000000000000815270010000000000000000000000000000000090910467ffffffffffffffff1660048201526024015b60405180910390fd5b80546fffffffffffffffffffffffffffffffff9081169085161115610809576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f82815260208190526040812080549091906fffffffffffffffffffffffffffffffff90811690871611156108515781546fffffffffffffffffffffffffffffffff16610853565b855b90505f610860828861204a565b83549091506fffffffffffffffffffffffffffffffff700100000000000000000000000000000000909104811690821611156108c8576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b8254829084905f906108ed9084906fffffffffffffffffffffffffffffffff1661204a565b92506101000a8154816fffffffffffffffffffffffffffffffff02191690836fffffffffffffffffffffffffffffffff16021790555080835f0160108282829054906101000a90046fffffffffffffffffffffffffffffffff16610951919061204a565b92506101000a8154816fffffffffffffffffffffffffffffffff02191690836fffffffffffffffffffffffffffffffff16021790555086845f015f8282829054906101000a90046fffffffffffffffffffffffffffffffff166109b4919061204a565b82546101009290920a6fffffffffffffffffffffffffffffffff8181021990931691831602179091558554165f039050610a0f5783547fffffffffffffffff0000000000000000ffffffffffffffffffffffffffffffff1684555b610a1a858a8a611460565b610a378987896fffffffffffffffffffffffffffffffff16611524565b505f93505050815c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00169050815d5050505050565b60ff5f5c1615610aa8576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d50606083811b5f9081523390911b60145260288120808252600360205260409091205480841115610b30576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b610b3a8482612037565b5f8381526003602090815260409182902092909255805173ffffffffffffffffffffffffffffffffffffffff868116825292810187905233928816917f79f14dbc87f91353937e4e02c8d3c5c2fa9e64ffed508cd3cb49ee20bc826c9a910160405180910390a3610bac858486611524565b505f90507fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00815c16815d50505050565b60ff5f5c1615610c18576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d5060408051606085811b825233811b601483015284901b6028820152603c90205f81815260016020529190912080547fffffffffffffffffffffffffffffffff00000000000000000000000000000000166fffffffffffffffffffffffffffffffff8416908117825515610ce057610cdb7f000000000000000000000000000000000000000000000000000000000000000042612072565b610ce2565b5f5b815467ffffffffffffffff91909116700100000000000000000000000000000000027fffffffffffffffff0000000000000000ffffffffffffffffffffffffffffffff909116178155610bac828686611460565b60ff5f5c1615610d72576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d5034816fffffffffffffffffffffffffffffffff161115610dea576040517f145f8ae000000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b610e235f83610e0b6fffffffffffffffffffffffffffffffff851634612037565b846fffffffffffffffffffffffffffffffff166112e5565b5f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00815c16815d505050565b5f60ff815c1615610e8c576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d505f5b82811015610ef757610ee385858584818110610ed857610ed8612092565b905060a00201611607565b610eed90836120bf565b9150600101610eba565b508015610f3d578060035f610f1c8733606091821b5f908152911b6014526028902090565b81526020019081526020015f205f828254610f3791906120bf565b90915550505b5f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00815c16815d509392505050565b5f60025f6106308585606091821b5f908152911b6014526028902090565b60ff5f5c1615610fc6576040517fab143c0600000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60015f805c7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00168217905d5060408051606085811b825233811b601483015284901b6028820152603c90205f81815260208190529190912080546fffffffffffffffffffffffffffffffff8481169116101561106e576040517f1dc930eb00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b80545f906110a5906fffffffffffffffffffffffffffffffff808716917001000000000000000000000000000000009004166120bf565b90506fffffffffffffffffffffffffffffffff8111156110f1576040517f35278d1200000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b8154849083905f906111169084906fffffffffffffffffffffffffffffffff1661204a565b82546fffffffffffffffffffffffffffffffff9182166101009390930a92830292820219169190911790915583548382167001000000000000000000000000000000000291161783555061116b838787611460565b505f9150507fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00815c16815d50505050565b5f5f5f5f5f6111c8888888604051606093841b815291831b601483015290911b6028820152603c902090565b5f908152602081815260408083206001909252909120905490546fffffffffffffffffffffffffffffffff8083169b7001000000000000000000000000000000009384900482169b50908216995091900467ffffffffffffffff169650945050505050565b60405173ffffffffffffffffffffffffffffffffffffffff808516602483015283166044820152606481018290526112df908590608401604080517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08184030181529190526020810180517bffffffffffffffffffffffffffffffffffffffffffffffffffffffff167f23b872dd00000000000000000000000000000000000000000000000000000000179052611ad7565b50505050565b73ffffffffffffffffffffffffffffffffffffffff8316611332576040517fe5c48ac500000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b60408051606086811b825233811b601483015285901b6028820152603c90205f81815260208190529182208054919290916113809086906fffffffffffffffffffffffffffffffff166120bf565b82549091505f906113b890869070010000000000000000000000000000000090046fffffffffffffffffffffffffffffffff166120bf565b90506fffffffffffffffffffffffffffffffff8211806113e757506fffffffffffffffffffffffffffffffff81115b1561141e576040517f35278d1200000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6fffffffffffffffffffffffffffffffff81811670010000000000000000000000000000000002908316178355611456848989611460565b5050505050505050565b5f83815260208181526040808320600183529281902083548154835173ffffffffffffffffffffffffffffffffffffffff88811682526fffffffffffffffffffffffffffffffff808516978301979097527001000000000000000000000000000000009384900487169582019590955294811660608601520467ffffffffffffffff16608084015291339186169087907f82637ef492b179b69de835fe6fbd10177c09ad9912d312e70a9d72ee7f62460a9060a00160405180910390a45050505050565b805f0361153057505050565b73ffffffffffffffffffffffffffffffffffffffff83166115e1575f8273ffffffffffffffffffffffffffffffffffffffff16826040515f6040518083038185875af1925050503d805f81146115a1576040519150601f19603f3d011682016040523d82523d5f602084013e6115a6565b606091505b50509050806112df576040517f90b8ec1800000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b61160273ffffffffffffffffffffffffffffffffffffffff84168383611c21565b505050565b60408051823560208083018290528351808403820181528385018086528151918301919091207f1900000000000000000000000000000000000000000000000000000000000000825230606090811b604287015246605687015288811b607687015233901b608a860152609e8501529085013560be8085018290529486013560de9094018490529390205f939291906116a860e084901c60c086901c6120bf565b4211156116c5576116ba816001611ccb565b945050505050610641565b60808601357f7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff81167f7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a081111561172d57611720836002611ccb565b9650505050505050610641565b5f60018461174060ff86901c601b6120bf565b604080515f8152602081018083529390935260ff909116908201526060808c0135908201526080810184905260a0016020604051602081039080840390855afa15801561178f573d5f5f3e3d5ffd5b50506040517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0015191505073ffffffffffffffffffffffffffffffffffffffff81166117ee576117e0846002611ccb565b975050505050505050610641565b604080516020810187905290810185905267ffffffffffffffff60a088901c1690606001604051602081830303815290604052805190602001205f1c67ffffffffffffffff161115611845576117e0846003611ccb565b6040805160608c811b825288811b601483015283901b6028820152603c90205f81815260208190529190912080546fffffffffffffffffffffffffffffffff80821691700100000000000000000000000000000000900416811580156118bb57506fffffffffffffffffffffffffffffffff8116155b156118dd576118cb886005611ccb565b9b505050505050505050505050610641565b606085811b5f9081523390911b60145260288120808252600260205260409091205460808d901c67ffffffffffffffff16908111611934576119208a6004611ccb565b9d5050505050505050505050505050610641565b5f8281526002602052604090208190558c6fffffffffffffffffffffffffffffffff808616908216116119ac5761196b818661204a565b86547fffffffffffffffffffffffffffffffff00000000000000000000000000000000166fffffffffffffffffffffffffffffffff91909116178655611a67565b5f6119b7868361204a565b9050846fffffffffffffffffffffffffffffffff16816fffffffffffffffffffffffffffffffff1611156119e85750835b6119f281876120d2565b91505f6119ff828761204a565b5f895590506fffffffffffffffffffffffffffffffff811615611a64576040516fffffffffffffffffffffffffffffffff8216815289907f332f25d7d767b49a1126573abecdd03ab5293993961c8c46f81e74c188aba5559060200160405180910390a25b50505b6040516fffffffffffffffffffffffffffffffff8216815287908c907f8f81e14d9c4fc1bd7f4edcb6b5a68130dcf07a16971c1b452b4d6d9469f378dc9060200160405180910390a36fffffffffffffffffffffffffffffffff169d505050505050505050505050505092915050565b8173ffffffffffffffffffffffffffffffffffffffff163b5f03611b3f576040517ffecb69b400000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff831660048201526024016107af565b5f5f8373ffffffffffffffffffffffffffffffffffffffff1683604051611b6691906120fa565b5f604051808303815f865af19150503d805f8114611b9f576040519150601f19603f3d011682016040523d82523d5f602084013e611ba4565b606091505b5091509150811580611bd25750805115801590611bd2575080806020019051810190611bd09190612110565b155b156112df576040517ffecb69b400000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff851660048201526024016107af565b60405173ffffffffffffffffffffffffffffffffffffffff8316602482015260448101829052611602908490606401604080517fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe08184030181529190526020810180517bffffffffffffffffffffffffffffffffffffffffffffffffffffffff167fa9059cbb00000000000000000000000000000000000000000000000000000000179052611ad7565b5f827fabd891dad0dc3d9160147f2f7f3cae525f64466b94e7703334c050a425796d3583604051611cfc9190612136565b60405180910390a2505f92915050565b73ffffffffffffffffffffffffffffffffffffffff81168114611d2d575f5ffd5b50565b5f5f5f60608486031215611d42575f5ffd5b8335611d4d81611d0c565b92506020840135611d5d81611d0c565b91506040840135611d6d81611d0c565b809150509250925092565b80356fffffffffffffffffffffffffffffffff81168114611d97575f5ffd5b919050565b5f5f5f5f60808587031215611daf575f5ffd5b8435611dba81611d0c565b93506020850135611dca81611d0c565b925060408501359150611ddf60608601611d78565b905092959194509250565b5f5f60408385031215611dfb575f5ffd5b8235611e0681611d0c565b91506020830135611e1681611d0c565b809150509250929050565b5f5f5f5f60808587031215611e34575f5ffd5b8435611e3f81611d0c565b93506020850135611e4f81611d0c565b9250611e5d60408601611d78565b91506060850135611e6d81611d0c565b939692955090935050565b5f5f5f60608486031215611e8a575f5ffd5b8335611e9581611d0c565b9250602084013591506040840135611d6d81611d0c565b5f5f5f5f5f60a08688031215611ec0575f5ffd5b8535611ecb81611d0c565b94506020860135611edb81611d0c565b94979496505050506040830135926060810135926080909101359150565b5f5f5f60608486031215611f0b575f5ffd5b8335611f1681611d0c565b92506020840135611f2681611d0c565b9150611f3460408501611d78565b90509250925092565b5f5f60408385031215611f4e575f5ffd5b8235611f5981611d0c565b9150611f6760208401611d78565b90509250929050565b5f5f5f60408486031215611f82575f5ffd5b8335611f8d81611d0c565b9250602084013567ffffffffffffffff811115611fa8575f5ffd5b8401601f81018613611fb8575f5ffd5b803567ffffffffffffffff811115611fce575f5ffd5b86602060a083028401011115611fe2575f5ffd5b939660209190910195509293505050565b5f60208284031215612003575f5ffd5b5051919050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b818103818111156106415761064161200a565b6fffffffffffffffffffffffffffffffff82811682821603908111156106415761064161200a565b67ffffffffffffffff81811683821601908111156106415761064161200a565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b808201808211156106415761064161200a565b6fffffffffffffffffffffffffffffffff81811683821601908111156106415761064161200a565b5f82518060208501845e5f920191825250919050565b5f60208284031215612120575f5ffd5b8151801515811461212f575f5ffd5b9392505050565b602081016006831061216f577f4e487b71000000000000000000000000000000000000000000000000000000005f52602160045260245ffd5b9190529056fea26469706673582212208aec2fa04c813b7d13175e2f60cdddc0c319d1d9d9e46d385aedb8a8ff2cb08564736f6c63430008250033",
}

// Lottery is an auto generated Go binding around an Ethereum contract.
type Lottery struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *Lottery) GetABI() abi.ABI {
	return c.abi
}

// NewLottery creates a new instance of Lottery.
func NewLottery() *Lottery {
	parsed, err := LotteryMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &Lottery{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *Lottery) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(uint64 delay_) returns()
func (lottery *Lottery) PackConstructor(delay_ uint64) []byte {
	enc, err := lottery.abi.Pack("", delay_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackAccount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf052c845.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function account(address token, address funder, address signer) view returns(uint128 balance, uint128 escrow, uint128 warned, uint64 unlock)
func (lottery *Lottery) PackAccount(token common.Address, funder common.Address, signer common.Address) []byte {
	enc, err := lottery.abi.Pack("account", token, funder, signer)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAccount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf052c845.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function account(address token, address funder, address signer) view returns(uint128 balance, uint128 escrow, uint128 warned, uint64 unlock)
func (lottery *Lottery) TryPackAccount(token common.Address, funder common.Address, signer common.Address) ([]byte, error) {
	return lottery.abi.Pack("account", token, funder, signer)
}

// AccountOutput serves as a container for the return parameters of contract
// method Account.
type AccountOutput struct {
	Balance *big.Int
	Escrow  *big.Int
	Warned  *big.Int
	Unlock  uint64
}

// UnpackAccount is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf052c845.
//
// Solidity: function account(address token, address funder, address signer) view returns(uint128 balance, uint128 escrow, uint128 warned, uint64 unlock)
func (lottery *Lottery) UnpackAccount(data []byte) (AccountOutput, error) {
	out, err := lottery.abi.Unpack("account", data)
	outstruct := new(AccountOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.Balance = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.Escrow = abi.ConvertType(out[1], new(big.Int)).(*big.Int)
	outstruct.Warned = abi.ConvertType(out[2], new(big.Int)).(*big.Int)
	outstruct.Unlock = *abi.ConvertType(out[3], new(uint64)).(*uint64)
	return *outstruct, nil
}

// PackAccountKey is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x05c682dd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function accountKey(address token, address funder, address signer) pure returns(bytes32 key)
func (lottery *Lottery) PackAccountKey(token common.Address, funder common.Address, signer common.Address) []byte {
	enc, err := lottery.abi.Pack("accountKey", token, funder, signer)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackAccountKey is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x05c682dd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function accountKey(address token, address funder, address signer) pure returns(bytes32 key)
func (lottery *Lottery) TryPackAccountKey(token common.Address, funder common.Address, signer common.Address) ([]byte, error) {
	return lottery.abi.Pack("accountKey", token, funder, signer)
}

// UnpackAccountKey is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x05c682dd.
//
// Solidity: function accountKey(address token, address funder, address signer) pure returns(bytes32 key)
func (lottery *Lottery) UnpackAccountKey(data []byte) ([32]byte, error) {
	out, err := lottery.abi.Unpack("accountKey", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackClaim is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xba2d0dfe.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function claim(address token, (bytes32,uint256,uint256,bytes32,bytes32)[] tickets) returns(uint256 total)
func (lottery *Lottery) PackClaim(token common.Address, tickets []LotteryTicket) []byte {
	enc, err := lottery.abi.Pack("claim", token, tickets)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackClaim is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xba2d0dfe.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function claim(address token, (bytes32,uint256,uint256,bytes32,bytes32)[] tickets) returns(uint256 total)
func (lottery *Lottery) TryPackClaim(token common.Address, tickets []LotteryTicket) ([]byte, error) {
	return lottery.abi.Pack("claim", token, tickets)
}

// UnpackClaim is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xba2d0dfe.
//
// Solidity: function claim(address token, (bytes32,uint256,uint256,bytes32,bytes32)[] tickets) returns(uint256 total)
func (lottery *Lottery) UnpackClaim(data []byte) (*big.Int, error) {
	out, err := lottery.abi.Unpack("claim", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackCollect is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2c2eb94a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function collect(address token, uint256 amount, address target) returns()
func (lottery *Lottery) PackCollect(token common.Address, amount *big.Int, target common.Address) []byte {
	enc, err := lottery.abi.Pack("collect", token, amount, target)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCollect is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2c2eb94a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function collect(address token, uint256 amount, address target) returns()
func (lottery *Lottery) TryPackCollect(token common.Address, amount *big.Int, target common.Address) ([]byte, error) {
	return lottery.abi.Pack("collect", token, amount, target)
}

// PackDelay is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6a42b8f8.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function delay() view returns(uint64)
func (lottery *Lottery) PackDelay() []byte {
	enc, err := lottery.abi.Pack("delay")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDelay is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6a42b8f8.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function delay() view returns(uint64)
func (lottery *Lottery) TryPackDelay() ([]byte, error) {
	return lottery.abi.Pack("delay")
}

// UnpackDelay is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x6a42b8f8.
//
// Solidity: function delay() view returns(uint64)
func (lottery *Lottery) UnpackDelay(data []byte) (uint64, error) {
	out, err := lottery.abi.Unpack("delay", data)
	if err != nil {
		return *new(uint64), err
	}
	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)
	return out0, nil
}

// PackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb3fb6564.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deposit(address signer, uint128 escrow_) payable returns()
func (lottery *Lottery) PackDeposit(signer common.Address, escrow *big.Int) []byte {
	enc, err := lottery.abi.Pack("deposit", signer, escrow)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xb3fb6564.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deposit(address signer, uint128 escrow_) payable returns()
func (lottery *Lottery) TryPackDeposit(signer common.Address, escrow *big.Int) ([]byte, error) {
	return lottery.abi.Pack("deposit", signer, escrow)
}

// PackDepositToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1b239a64.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function depositToken(address token, address signer, uint256 amount, uint128 escrow_) returns()
func (lottery *Lottery) PackDepositToken(token common.Address, signer common.Address, amount *big.Int, escrow *big.Int) []byte {
	enc, err := lottery.abi.Pack("depositToken", token, signer, amount, escrow)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDepositToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x1b239a64.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function depositToken(address token, address signer, uint256 amount, uint128 escrow_) returns()
func (lottery *Lottery) TryPackDepositToken(token common.Address, signer common.Address, amount *big.Int, escrow *big.Int) ([]byte, error) {
	return lottery.abi.Pack("depositToken", token, signer, amount, escrow)
}

// PackEarnings is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2af2cecc.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function earnings(address token, address recipient) view returns(uint256)
func (lottery *Lottery) PackEarnings(token common.Address, recipient common.Address) []byte {
	enc, err := lottery.abi.Pack("earnings", token, recipient)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackEarnings is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2af2cecc.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function earnings(address token, address recipient) view returns(uint256)
func (lottery *Lottery) TryPackEarnings(token common.Address, recipient common.Address) ([]byte, error) {
	return lottery.abi.Pack("earnings", token, recipient)
}

// UnpackEarnings is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x2af2cecc.
//
// Solidity: function earnings(address token, address recipient) view returns(uint256)
func (lottery *Lottery) UnpackEarnings(data []byte) (*big.Int, error) {
	out, err := lottery.abi.Unpack("earnings", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackMark is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbda1887a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function mark(address signer, address recipient) view returns(uint256)
func (lottery *Lottery) PackMark(signer common.Address, recipient common.Address) []byte {
	enc, err := lottery.abi.Pack("mark", signer, recipient)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMark is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xbda1887a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function mark(address signer, address recipient) view returns(uint256)
func (lottery *Lottery) TryPackMark(signer common.Address, recipient common.Address) ([]byte, error) {
	return lottery.abi.Pack("mark", signer, recipient)
}

// UnpackMark is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xbda1887a.
//
// Solidity: function mark(address signer, address recipient) view returns(uint256)
func (lottery *Lottery) UnpackMark(data []byte) (*big.Int, error) {
	out, err := lottery.abi.Unpack("mark", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackMove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe6b5352c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function move(address token, address signer, uint128 amount) returns()
func (lottery *Lottery) PackMove(token common.Address, signer common.Address, amount *big.Int) []byte {
	enc, err := lottery.abi.Pack("move", token, signer, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMove is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe6b5352c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function move(address token, address signer, uint128 amount) returns()
func (lottery *Lottery) TryPackMove(token common.Address, signer common.Address, amount *big.Int) ([]byte, error) {
	return lottery.abi.Pack("move", token, signer, amount)
}

// PackTicketDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6e03a8cd.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function ticketDigest(address token, address recipient, bytes32 commit, uint256 packed0, uint256 packed1) view returns(bytes32 d)
func (lottery *Lottery) PackTicketDigest(token common.Address, recipient common.Address, commit [32]byte, packed0 *big.Int, packed1 *big.Int) []byte {
	enc, err := lottery.abi.Pack("ticketDigest", token, recipient, commit, packed0, packed1)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTicketDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x6e03a8cd.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function ticketDigest(address token, address recipient, bytes32 commit, uint256 packed0, uint256 packed1) view returns(bytes32 d)
func (lottery *Lottery) TryPackTicketDigest(token common.Address, recipient common.Address, commit [32]byte, packed0 *big.Int, packed1 *big.Int) ([]byte, error) {
	return lottery.abi.Pack("ticketDigest", token, recipient, commit, packed0, packed1)
}

// UnpackTicketDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x6e03a8cd.
//
// Solidity: function ticketDigest(address token, address recipient, bytes32 commit, uint256 packed0, uint256 packed1) view returns(bytes32 d)
func (lottery *Lottery) UnpackTicketDigest(data []byte) ([32]byte, error) {
	out, err := lottery.abi.Unpack("ticketDigest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackWarn is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7c802547.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function warn(address token, address signer, uint128 amount) returns()
func (lottery *Lottery) PackWarn(token common.Address, signer common.Address, amount *big.Int) []byte {
	enc, err := lottery.abi.Pack("warn", token, signer, amount)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWarn is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x7c802547.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function warn(address token, address signer, uint128 amount) returns()
func (lottery *Lottery) TryPackWarn(token common.Address, signer common.Address, amount *big.Int) ([]byte, error) {
	return lottery.abi.Pack("warn", token, signer, amount)
}

// PackWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2b0c4499.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function withdraw(address token, address signer, uint128 amount, address target) returns()
func (lottery *Lottery) PackWithdraw(token common.Address, signer common.Address, amount *big.Int, target common.Address) []byte {
	enc, err := lottery.abi.Pack("withdraw", token, signer, amount, target)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackWithdraw is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2b0c4499.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function withdraw(address token, address signer, uint128 amount, address target) returns()
func (lottery *Lottery) TryPackWithdraw(token common.Address, signer common.Address, amount *big.Int, target common.Address) ([]byte, error) {
	return lottery.abi.Pack("withdraw", token, signer, amount, target)
}

// LotteryBurned represents a Burned event raised by the Lottery contract.
type LotteryBurned struct {
	Account [32]byte
	Amount  *big.Int
	Raw     *types.Log // Blockchain specific contextual infos
}

const LotteryBurnedEventName = "Burned"

// ContractEventName returns the user-defined event name.
func (LotteryBurned) ContractEventName() string {
	return LotteryBurnedEventName
}

// UnpackBurnedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Burned(bytes32 indexed account, uint256 amount)
func (lottery *Lottery) UnpackBurnedEvent(log *types.Log) (*LotteryBurned, error) {
	event := "Burned"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != lottery.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(LotteryBurned)
	if len(log.Data) > 0 {
		if err := lottery.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range lottery.abi.Events[event].Inputs {
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

// LotteryCollected represents a Collected event raised by the Lottery contract.
type LotteryCollected struct {
	Token     common.Address
	Recipient common.Address
	Target    common.Address
	Amount    *big.Int
	Raw       *types.Log // Blockchain specific contextual infos
}

const LotteryCollectedEventName = "Collected"

// ContractEventName returns the user-defined event name.
func (LotteryCollected) ContractEventName() string {
	return LotteryCollectedEventName
}

// UnpackCollectedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Collected(address indexed token, address indexed recipient, address target, uint256 amount)
func (lottery *Lottery) UnpackCollectedEvent(log *types.Log) (*LotteryCollected, error) {
	event := "Collected"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != lottery.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(LotteryCollected)
	if len(log.Data) > 0 {
		if err := lottery.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range lottery.abi.Events[event].Inputs {
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

// LotteryRejected represents a Rejected event raised by the Lottery contract.
type LotteryRejected struct {
	Ticket [32]byte
	Reason uint8
	Raw    *types.Log // Blockchain specific contextual infos
}

const LotteryRejectedEventName = "Rejected"

// ContractEventName returns the user-defined event name.
func (LotteryRejected) ContractEventName() string {
	return LotteryRejectedEventName
}

// UnpackRejectedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Rejected(bytes32 indexed ticket, uint8 reason)
func (lottery *Lottery) UnpackRejectedEvent(log *types.Log) (*LotteryRejected, error) {
	event := "Rejected"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != lottery.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(LotteryRejected)
	if len(log.Data) > 0 {
		if err := lottery.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range lottery.abi.Events[event].Inputs {
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

// LotteryUpdate represents a Update event raised by the Lottery contract.
type LotteryUpdate struct {
	Account [32]byte
	Token   common.Address
	Funder  common.Address
	Signer  common.Address
	Balance *big.Int
	Escrow  *big.Int
	Warned  *big.Int
	Unlock  uint64
	Raw     *types.Log // Blockchain specific contextual infos
}

const LotteryUpdateEventName = "Update"

// ContractEventName returns the user-defined event name.
func (LotteryUpdate) ContractEventName() string {
	return LotteryUpdateEventName
}

// UnpackUpdateEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Update(bytes32 indexed account, address indexed token, address indexed funder, address signer, uint128 balance, uint128 escrow, uint128 warned, uint64 unlock)
func (lottery *Lottery) UnpackUpdateEvent(log *types.Log) (*LotteryUpdate, error) {
	event := "Update"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != lottery.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(LotteryUpdate)
	if len(log.Data) > 0 {
		if err := lottery.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range lottery.abi.Events[event].Inputs {
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

// LotteryWon represents a Won event raised by the Lottery contract.
type LotteryWon struct {
	Ticket  [32]byte
	Account [32]byte
	Amount  *big.Int
	Raw     *types.Log // Blockchain specific contextual infos
}

const LotteryWonEventName = "Won"

// ContractEventName returns the user-defined event name.
func (LotteryWon) ContractEventName() string {
	return LotteryWonEventName
}

// UnpackWonEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Won(bytes32 indexed ticket, bytes32 indexed account, uint256 amount)
func (lottery *Lottery) UnpackWonEvent(log *types.Log) (*LotteryWon, error) {
	event := "Won"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != lottery.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(LotteryWon)
	if len(log.Data) > 0 {
		if err := lottery.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range lottery.abi.Events[event].Inputs {
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
func (lottery *Lottery) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], lottery.abi.Errors["EscrowExceedsDeposit"].ID.Bytes()[:4]) {
		return lottery.UnpackEscrowExceedsDepositError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["Insufficient"].ID.Bytes()[:4]) {
		return lottery.UnpackInsufficientError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["Locked"].ID.Bytes()[:4]) {
		return lottery.UnpackLockedError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["NotWarned"].ID.Bytes()[:4]) {
		return lottery.UnpackNotWarnedError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["Overflow"].ID.Bytes()[:4]) {
		return lottery.UnpackOverflowError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["Reentrancy"].ID.Bytes()[:4]) {
		return lottery.UnpackReentrancyError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["TokenCallFailed"].ID.Bytes()[:4]) {
		return lottery.UnpackTokenCallFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["TransferFailed"].ID.Bytes()[:4]) {
		return lottery.UnpackTransferFailedError(raw[4:])
	}
	if bytes.Equal(raw[:4], lottery.abi.Errors["ZeroSigner"].ID.Bytes()[:4]) {
		return lottery.UnpackZeroSignerError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// LotteryEscrowExceedsDeposit represents a EscrowExceedsDeposit error raised by the Lottery contract.
type LotteryEscrowExceedsDeposit struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EscrowExceedsDeposit()
func LotteryEscrowExceedsDepositErrorID() common.Hash {
	return common.HexToHash("0x145f8ae01c63c6e7ce16e8812f29bc504c4bfb7103bd559021ee48b894331e1e")
}

// UnpackEscrowExceedsDepositError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EscrowExceedsDeposit()
func (lottery *Lottery) UnpackEscrowExceedsDepositError(raw []byte) (*LotteryEscrowExceedsDeposit, error) {
	out := new(LotteryEscrowExceedsDeposit)
	if err := lottery.abi.UnpackIntoInterface(out, "EscrowExceedsDeposit", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryInsufficient represents a Insufficient error raised by the Lottery contract.
type LotteryInsufficient struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Insufficient()
func LotteryInsufficientErrorID() common.Hash {
	return common.HexToHash("0x1dc930eb2c4961d90a518760b06066c328f8656f480b66f410970ce67e327692")
}

// UnpackInsufficientError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Insufficient()
func (lottery *Lottery) UnpackInsufficientError(raw []byte) (*LotteryInsufficient, error) {
	out := new(LotteryInsufficient)
	if err := lottery.abi.UnpackIntoInterface(out, "Insufficient", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryLocked represents a Locked error raised by the Lottery contract.
type LotteryLocked struct {
	Unlock uint64
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Locked(uint64 unlock)
func LotteryLockedErrorID() common.Hash {
	return common.HexToHash("0xeada2658bdffa19cde38de41cf093822ebf95b75028fe95357edf04ad0ac1c2c")
}

// UnpackLockedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Locked(uint64 unlock)
func (lottery *Lottery) UnpackLockedError(raw []byte) (*LotteryLocked, error) {
	out := new(LotteryLocked)
	if err := lottery.abi.UnpackIntoInterface(out, "Locked", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryNotWarned represents a NotWarned error raised by the Lottery contract.
type LotteryNotWarned struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotWarned()
func LotteryNotWarnedErrorID() common.Hash {
	return common.HexToHash("0x5b5801fab225e8929ecef8f44530bb262fe48a38c26a6971bd9889906a164888")
}

// UnpackNotWarnedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotWarned()
func (lottery *Lottery) UnpackNotWarnedError(raw []byte) (*LotteryNotWarned, error) {
	out := new(LotteryNotWarned)
	if err := lottery.abi.UnpackIntoInterface(out, "NotWarned", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryOverflow represents a Overflow error raised by the Lottery contract.
type LotteryOverflow struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Overflow()
func LotteryOverflowErrorID() common.Hash {
	return common.HexToHash("0x35278d127e53c148a0565944278d7e3633ce8d20f99f96aa81dc51a2ab474200")
}

// UnpackOverflowError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Overflow()
func (lottery *Lottery) UnpackOverflowError(raw []byte) (*LotteryOverflow, error) {
	out := new(LotteryOverflow)
	if err := lottery.abi.UnpackIntoInterface(out, "Overflow", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryReentrancy represents a Reentrancy error raised by the Lottery contract.
type LotteryReentrancy struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error Reentrancy()
func LotteryReentrancyErrorID() common.Hash {
	return common.HexToHash("0xab143c06c9772d69bbbc9f2fe74acd02f810e93b099f3d1dac8448ac9ae35991")
}

// UnpackReentrancyError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error Reentrancy()
func (lottery *Lottery) UnpackReentrancyError(raw []byte) (*LotteryReentrancy, error) {
	out := new(LotteryReentrancy)
	if err := lottery.abi.UnpackIntoInterface(out, "Reentrancy", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryTokenCallFailed represents a TokenCallFailed error raised by the Lottery contract.
type LotteryTokenCallFailed struct {
	Token common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error TokenCallFailed(address token)
func LotteryTokenCallFailedErrorID() common.Hash {
	return common.HexToHash("0xfecb69b4f00b9203b60da5ed901012a39c115c782cd06a41cb7715ca2556cd47")
}

// UnpackTokenCallFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error TokenCallFailed(address token)
func (lottery *Lottery) UnpackTokenCallFailedError(raw []byte) (*LotteryTokenCallFailed, error) {
	out := new(LotteryTokenCallFailed)
	if err := lottery.abi.UnpackIntoInterface(out, "TokenCallFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryTransferFailed represents a TransferFailed error raised by the Lottery contract.
type LotteryTransferFailed struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error TransferFailed()
func LotteryTransferFailedErrorID() common.Hash {
	return common.HexToHash("0x90b8ec1877afffd816d05d9b13947f3ff18ec5851c38bad15ec2b710f92391b1")
}

// UnpackTransferFailedError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error TransferFailed()
func (lottery *Lottery) UnpackTransferFailedError(raw []byte) (*LotteryTransferFailed, error) {
	out := new(LotteryTransferFailed)
	if err := lottery.abi.UnpackIntoInterface(out, "TransferFailed", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// LotteryZeroSigner represents a ZeroSigner error raised by the Lottery contract.
type LotteryZeroSigner struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroSigner()
func LotteryZeroSignerErrorID() common.Hash {
	return common.HexToHash("0xe5c48ac578e050f5a863729c359600666b17bce09ec64f88719c5ce6fc799f6a")
}

// UnpackZeroSignerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroSigner()
func (lottery *Lottery) UnpackZeroSignerError(raw []byte) (*LotteryZeroSigner, error) {
	out := new(LotteryZeroSigner)
	if err := lottery.abi.UnpackIntoInterface(out, "ZeroSigner", raw); err != nil {
		return nil, err
	}
	return out, nil
}
