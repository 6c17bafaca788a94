import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActorContext } from '../../audit/audit-entry';
import { Actor, ApiKeyAuth, RequirePermissions } from '../../auth/auth.decorators';
import { InputValidationError } from '../../common/domain-error';
import { ErrorResponseDto } from '../../common/error-response.dto';
import {
  FatFingerOverrideDto,
  FatFingerThresholdsDto,
  UpdateFatFingerThresholdsDto,
} from './dto/fat-finger-thresholds.dto';
import { parseThresholdsUpdate, toThresholdsBody } from './fat-finger-thresholds';
import { FatFingerThresholdsService } from './fat-finger-thresholds.service';
import { operatorOf } from '../../common/operator-fields';

@ApiTags('risk')
@ApiExtraModels(FatFingerOverrideDto)
@ApiKeyAuth('MANAGE_RISK')
@Controller('fat-finger')
export class FatFingerThresholdsController {
  constructor(private readonly thresholds: FatFingerThresholdsService) {}

  @Get('thresholds')
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: 'Fat-finger thresholds in force',
    description: 'Global defaults (the FAT_FINGER_* settings until an operator sets others) and per-symbol overrides.',
  })
  @ApiResponse({ status: 200, type: FatFingerThresholdsDto })
  async get(): Promise<FatFingerThresholdsDto> {
    return toThresholdsBody(await this.thresholds.get());
  }

  @Put('thresholds')
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: 'Change fat-finger thresholds',
    description:
      'Any subset of the defaults and overrides; answers the full thresholds. Audited with the values before and after; in force on every replica within 1 s.',
  })
  @ApiResponse({ status: 200, type: FatFingerThresholdsDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async put(@Body() body: UpdateFatFingerThresholdsDto, @Actor() actor: ActorContext): Promise<FatFingerThresholdsDto> {
    const parsed = parseThresholdsUpdate({ defaults: body.defaults, symbol_overrides: body.symbol_overrides });
    if (!parsed.update) throw new InputValidationError(parsed.problems);
    return toThresholdsBody(
      await this.thresholds.update({ operator: operatorOf(body.operator, actor), update: parsed.update }, actor),
    );
  }
}
