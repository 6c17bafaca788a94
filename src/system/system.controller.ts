import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/public-route';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SERVICE_NAME, SERVICE_VERSION } from '../common/service-info';

export class ConfigResponseDto {
  @ApiProperty({ example: 'development' }) environment!: string;
  @ApiProperty({ description: 'true: orders are recorded, never sent to a broker' }) dry_run!: boolean;
  @ApiProperty() alpaca_paper!: boolean;
  @ApiProperty() circuit_breaker_enabled!: boolean;
  @ApiProperty({ enum: ['alpaca', 'sim'] }) broker!: string;
}

@ApiTags('system')
@Controller()
export class SystemController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Service metadata' })
  root() {
    return {
      service: SERVICE_NAME,
      version: SERVICE_VERSION,
      environment: this.config.environment,
      dry_run: this.config.dryRun,
      docs: '/docs',
      health: '/health',
      metrics: '/metrics',
      api: '/api/v1',
    };
  }

  @Get('config')
  @ApiBearerAuth()
  @ApiSecurity('api-key')
  @ApiOperation({ summary: 'Safety flags in force' })
  @ApiOkResponse({ type: ConfigResponseDto })
  configFlags(): ConfigResponseDto {
    return {
      environment: this.config.environment,
      dry_run: this.config.dryRun,
      alpaca_paper: this.config.broker.alpaca.paper,
      circuit_breaker_enabled: this.config.circuitBreakerEnabled,
      broker: this.config.broker.kind,
    };
  }
}
