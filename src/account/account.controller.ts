import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, RequirePermissions } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { AccountReader } from './account-reader.service';
import { AccountResponseDto } from './dto/account-response.dto';

/** GET /api/v1/account (docs/api.md#account): the broker account's balances. */
@ApiTags('account')
@ApiKeyAuth('VIEW_POSITIONS')
@Controller('account')
export class AccountController {
  constructor(private readonly reader: AccountReader) {}

  @Get()
  @RequirePermissions('VIEW_POSITIONS')
  @ApiOperation({
    summary: 'Account balances: equity, cash, buying power, long and short market value (decimal strings)',
    description:
      "Read from the broker (Alpaca's account, or the sim's ledger marked at its reference prices) and cached for 2 s.",
  })
  @ApiOkResponse({ type: AccountResponseDto })
  @ApiErrors('BROKER_UNAVAILABLE')
  account(): Promise<AccountResponseDto> {
    return this.reader.current();
  }
}
